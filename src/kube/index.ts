// The Kubernetes adapter: client configuration and watched caches.
export { loadKubeConfig } from './kube-config.ts';
export { watchNodes, type NodeCache } from './node-cache.ts';
