// The Kubernetes adapter: client configuration and watched caches.
export { loadKubeConfig } from './kube-config.ts';
export { watchNodes, type NodeCache } from './node-cache.ts';
export { buildNodeIndex, type NodeIndex } from './node-index.ts';
export {
  classForStatus,
  ConflictError,
  isConflict,
  isNotFound,
  KubeError,
  kubeCall,
  kubeGet,
  NotFoundError,
  PermanentError,
  toKubeError,
  TooManyRequestsError,
  TransientError,
  type KubeErrorCode,
  type KubeErrorDetails,
} from './errors.ts';
export { mergePatch } from './patch.ts';
export { listCustomObjects, type KubeObject, type ResourceRef } from './custom-objects.ts';
export { type ApiserverProbe, probeApiserver } from './apiserver-probe.ts';
export { type NodeLike } from './node-index.ts';
