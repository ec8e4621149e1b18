// Kubernetes client configuration: KUBECONFIG when set, in-cluster otherwise.
import { KubeConfig } from '@kubernetes/client-node';

export function loadKubeConfig(kubeconfigPath?: string): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
  else kc.loadFromDefault();
  return kc;
}
