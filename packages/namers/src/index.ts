// --- k8s (issue #5) ---
export { K8sApi, type K8sConnection, makeKubeConfig, SERVICE_ACCOUNT_DIR } from "./k8s-api.js";
export { type BackoffOptions, JitteredBackoff } from "./k8s-backoff.js";
export { K8sApiError, K8sConfigError } from "./k8s-errors.js";
export {
  type DaemonSetConfig,
  daemonSetFactory,
  type K8sNamerConfig,
  k8sNamerFactories,
  k8sNamerFactory,
  k8sTransformerFactories,
  type LocalNodeConfig,
  localNodeFactory,
  type MountedK8sNamer,
} from "./k8s-plugins.js";
export { sameSlash24 } from "./k8s-transformer-support.js";
export { K8sNamer, type K8sNamerOptions, type K8sNamerState } from "./namer-k8s.js";
export {
  type DaemonSetTransformerOptions,
  daemonSetTransformer,
  selectGateways,
} from "./transformer-k8s-daemonset.js";
export {
  filterLocal,
  type LocalNodeTransformerOptions,
  localNodeTransformer,
} from "./transformer-k8s-localnode.js";
