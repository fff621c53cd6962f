// --- k8s (issue #5) ---

// --- io.l5d.fs, io.l5d.rewrite, per-host transformers, default interpreter (issue #4) ---
export { addrTransformer, filterAddr, filterAddrVar } from "./addr-transformer.js";
export {
  type FsAddrLine,
  type FsLineError,
  parseAddrFile,
  resolveAddrLines,
  resolveHost,
  showFsLineError,
} from "./fs-addr-file.js";
export { FsNamer, type FsNamerOptions } from "./fs-namer.js";
export {
  compilePath,
  hostMatches,
  INGRESS_CLASS_ANNOTATION,
  type IngressBackend,
  type IngressRule,
  type IngressSpec,
  ingressClassMatches,
  type MatchOptions,
  matchIngresses,
  type PathMatch,
  parseBackend,
  parseIngress,
  pathMatches,
  requestPath,
  stripPort,
} from "./ingress-rules.js";
export {
  type DefaultInterpreterConfig,
  defaultInterpreterFactory,
  defaultInterpreterSchema,
} from "./interpreter-default.js";
export {
  K8sApi,
  type K8sConnection,
  type K8sNamespace,
  type K8sObj,
  type K8sResource,
  makeKubeConfig,
  SERVICE_ACCOUNT_DIR,
} from "./k8s-api.js";
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
export {
  Reflector,
  type ReflectorLogger,
  type ReflectorOptions,
  type ReflectorPhase,
  type ReflectorStats,
} from "./k8s-reflector.js";
export { sameSlash24 } from "./k8s-transformer-support.js";
export { buildInterpreter, buildTransformers, mountNamers, PluginBuildError } from "./mount.js";
export {
  type FsNamerConfig,
  fsNamerFactory,
  fsNamerSchema,
  type MountedFsNamer,
} from "./namer-fs.js";
export { K8sNamer, type K8sNamerOptions, type K8sNamerState } from "./namer-k8s.js";
export {
  type RewriteNamerConfig,
  rewriteNamerFactory,
  rewriteNamerSchema,
  rewritingNamer,
} from "./namer-rewrite.js";
export { PathMatcher, PathMatcherError } from "./path-matcher.js";
export { interpreterFactories, namerFactories, transformerFactories } from "./plugins.js";
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
export {
  hostFilter,
  type LocalhostTransformerConfig,
  localhostTransformer,
  localhostTransformerFactory,
  localhostTransformerSchema,
  localIps,
} from "./transformer-localhost.js";
export {
  type PortTransformerConfig,
  portTransformer,
  portTransformerFactory,
  portTransformerSchema,
} from "./transformer-port.js";
export {
  type ConstTransformerConfig,
  constTransformer,
  constTransformerFactory,
  constTransformerSchema,
  type ReplaceTransformerConfig,
  replaceTransformer,
  replaceTransformerFactory,
  replaceTransformerSchema,
} from "./transformer-replace.js";
export {
  type SpecificHostTransformerConfig,
  specificHostTransformer,
  specificHostTransformerFactory,
  specificHostTransformerSchema,
} from "./transformer-specific-host.js";
