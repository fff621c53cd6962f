export {
  etagToVersion,
  HTTP_CONTROLLER_PORT,
  httpControllerFactory,
  renderTree,
  versionToEtag,
} from "./interfaces/http-controller.js";
export {
  MESH_INTERFACE_PORT,
  type MeshInterfaceConfig,
  meshInterfaceFactory,
  meshInterfaceSchema,
} from "./interfaces/mesh-interface.js";
export type {
  InterfaceContext,
  ListeningInterface,
  NamerdInterface,
} from "./interfaces/namerd-interface.js";
export {
  THRIFT_INTERFACE_PORT,
  type ThriftInterfaceConfig,
  thriftInterfaceFactory,
  thriftInterfaceSchema,
} from "./interfaces/thrift-interface.js";
export { NamerdStartError, type RunningNamerd, startNamerd } from "./namerd.js";
export { loadNamerdConfig, NAMERD_USAGE, runNamerd } from "./namerd-cli.js";
export {
  NAMERD_ADMIN_PORT,
  type NamerdConfig,
  type NamerdParseResult,
  type NamerdRegistries,
  parseNamerdConfig,
} from "./namerd-config.js";
export { Namespaces } from "./namespaces.js";
export { createNamerdRegistries } from "./plugins.js";
export {
  DtabNamespaceAlreadyExistsError,
  DtabNamespaceDoesNotExistError,
  DtabNamespaceInvalidError,
  type DtabStore,
  DtabStoreUnavailableError,
  DtabVersionMismatchError,
  NAMESPACE_RE,
  type VersionedDtab,
} from "./storage/dtab-store.js";
export { EtcdDtabStore, type EtcdDtabStoreOptions } from "./storage/etcd-store.js";
export { InMemoryDtabStore } from "./storage/in-memory-store.js";
export { K8sDtabStore, type K8sDtabStoreOptions } from "./storage/k8s-store.js";
