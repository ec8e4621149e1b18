// Request options for PATCH calls: the Content-Type picks the patch strategy.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

/** JSON merge patch (RFC 7386): `null` removes a key; works for every kind, including CRDs. */
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
