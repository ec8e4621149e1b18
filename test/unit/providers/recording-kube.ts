// An in-memory Kubernetes API for provider unit tests: a KubeConfig whose API clients send every
// request to a small object store instead of the network, recording each call as the RBAC
// (group, resource, verb) it needs. Enough of the API for the providers: Nodes, and custom
// objects cluster-wide or namespaced; GET, LIST (labelSelector k=v), POST, merge PATCH, DELETE
// with a uid precondition. A created Node is Ready at once (the simulated kubelet's part).
import {
  KubeConfig,
  ResponseContext,
  SelfDecodingBody,
  ServerConfiguration,
  createConfiguration,
  wrapHttpLibrary,
  type RequestContext,
} from '@kubernetes/client-node';
import type { KubeVerb } from '../../../src/providers/index.ts';

export interface KubeCall {
  group: string;
  resource: string;
  verb: KubeVerb;
}

interface StoredObject {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

const SERVER = 'https://kube.invalid';

/** Which object(s) a request path names: `/api/v1/...` (core) or `/apis/<group>/<version>/...`. */
function parsePath(path: string): {
  group: string;
  resource: string;
  namespace: string;
  name?: string;
} {
  const parts = path.split('/').filter(Boolean);
  const rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  const group = parts[0] === 'api' ? '' : (parts[1] ?? '');
  const namespaced = rest[0] === 'namespaces' && rest.length >= 3;
  const [resource, name] = namespaced ? rest.slice(2) : rest;
  return { group, resource: resource ?? '', namespace: namespaced ? (rest[1] ?? '') : '', name };
}

function respond(status: number, body: unknown): ResponseContext {
  const text = JSON.stringify(body);
  return new ResponseContext(
    status,
    { 'content-type': 'application/json' },
    new SelfDecodingBody(Promise.resolve(Buffer.from(text))),
  );
}

function status(code: number, reason: string, message: string): ResponseContext {
  return respond(code, {
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    code,
    reason,
    message,
  });
}

function mergeInto(target: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(patch)) {
    const current = target[key];
    if (value === null) delete target[key];
    else if (
      typeof value === 'object' &&
      !Array.isArray(value) &&
      typeof current === 'object' &&
      current !== null
    ) {
      mergeInto(current as Record<string, unknown>, value as Record<string, unknown>);
    } else target[key] = structuredClone(value);
  }
}

export class RecordingKube {
  readonly calls: KubeCall[] = [];
  readonly #objects = new Map<string, StoredObject>();
  #uids = 0;

  /** Stores an object (a uid is added when it has none). */
  put(group: string, resource: string, object: StoredObject): StoredObject {
    const stored = structuredClone(object);
    stored.metadata = { uid: `uid-${++this.#uids}`, ...stored.metadata };
    this.#objects.set(
      this.#key(group, resource, stored.metadata.namespace ?? '', stored.metadata.name ?? ''),
      stored,
    );
    return structuredClone(stored);
  }

  get(group: string, resource: string, name: string, namespace = ''): StoredObject | undefined {
    const found = this.#objects.get(this.#key(group, resource, namespace, name));
    return found ? structuredClone(found) : undefined;
  }

  /** A KubeConfig whose API clients talk to this store. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: SERVER, skipTLSVerify: true }],
      users: [{ name: 'fake' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
      currentContext: 'fake',
    });
    const httpApi = wrapHttpLibrary({ send: (request) => Promise.resolve(this.#handle(request)) });
    kc.makeApiClient = <T>(
      apiClientType: new (config: ReturnType<typeof createConfiguration>) => T,
    ) =>
      new apiClientType(
        createConfiguration({ baseServer: new ServerConfiguration(SERVER, {}), httpApi }),
      );
    return kc;
  }

  /** The distinct calls made, as `group resource verb` sorted (core group shown as `core`). */
  distinctCalls(): string[] {
    return [
      ...new Set(this.calls.map((c) => `${c.group || 'core'} ${c.resource} ${c.verb}`)),
    ].sort();
  }

  #key(group: string, resource: string, namespace: string, name: string): string {
    return `${group}/${resource}/${namespace}/${name}`;
  }

  #handle(request: RequestContext): ResponseContext {
    const url = new URL(request.getUrl());
    const { group, resource, namespace, name } = parsePath(url.pathname);
    const method = request.getHttpMethod().toString();
    const body = request.getBody();
    const payload = (typeof body === 'string' && body ? JSON.parse(body) : {}) as Record<
      string,
      unknown
    >;
    const verbs: Record<string, KubeVerb> = {
      GET: name ? 'get' : 'list',
      POST: 'create',
      PATCH: 'patch',
      PUT: 'update',
      DELETE: 'delete',
    };
    const verb = verbs[method];
    if (!verb) return status(405, 'MethodNotAllowed', `${method} is not served here`);
    this.calls.push({ group, resource, verb });

    if (verb === 'list') {
      const selector = url.searchParams.get('labelSelector');
      const wanted = selector ? selector.split(',').map((kv) => kv.split('=', 2)) : [];
      const items = [...this.#objects.entries()]
        .filter(([key]) => key.startsWith(`${group}/${resource}/`))
        .map(([, object]) => object)
        .filter((o) => wanted.every(([k, v]) => o.metadata?.labels?.[k ?? ''] === v));
      return respond(200, { kind: 'List', apiVersion: 'v1', metadata: {}, items });
    }
    if (verb === 'create') {
      const object = payload as StoredObject;
      const objectName = object.metadata?.name ?? '';
      if (this.get(group, resource, objectName, namespace)) {
        return status(409, 'AlreadyExists', `${resource} ${objectName} already exists`);
      }
      if (resource === 'nodes') {
        object.status = { conditions: [{ type: 'Ready', status: 'True' }] };
      }
      return respond(201, this.put(group, resource, object));
    }
    const key = this.#key(group, resource, namespace, name ?? '');
    const current = this.#objects.get(key);
    if (!current) return status(404, 'NotFound', `${resource} ${name ?? ''} not found`);
    if (verb === 'get') return respond(200, current);
    if (verb === 'patch') {
      mergeInto(current, payload);
      return respond(200, current);
    }
    if (verb === 'delete') {
      const uid = (payload.preconditions as { uid?: string } | undefined)?.uid;
      if (uid && uid !== current.metadata?.uid) {
        return status(409, 'Conflict', `precondition failed: uid ${uid}`);
      }
      this.#objects.delete(key);
      return respond(200, current);
    }
    return status(405, 'MethodNotAllowed', `${verb} is not served here`);
  }
}
