/**
 * l5d's interpreters that ask namerd to bind names (Linkerd's `io.l5d.namerd.http`,
 * `io.l5d.mesh`, `io.l5d.namerd`), each registered by kind in `namerdInterpreterFactories`.
 */

export { Backoff } from "./backoff.js";
export { addrFromJson, boundTreeFromJson } from "./bound-tree-json.js";
export { namerdInterpreterFactories } from "./factories.js";
export {
  NamerdHttpInterpreter,
  type NamerdHttpInterpreterConfig,
  namerdHttpInterpreterFactory,
} from "./http-interpreter.js";
export { getJsonLines, MAX_LINE_BYTES } from "./json-lines.js";
export {
  type AddrFor,
  addrToReplicas,
  boundTreeFromProto,
  boundTreeToProto,
  bytesToIp,
  delegateTreeFromProto,
  delegateTreeToProto,
  dentryFromProto,
  dtabFromProto,
  dtabToProto,
  ENDPOINT_WEIGHT_KEY,
  ipToBytes,
  MeshCodecError,
  namespaceFromRoot,
  pathFromProto,
  pathToProto,
  pathTreeFromProto,
  pathTreeToProto,
  replicasToAddr,
  rootForNamespace,
} from "./mesh-codec.js";
export { type MeshClients, MeshConnection } from "./mesh-connection.js";
export {
  MESH_DELEGATE_TIMEOUT_MS,
  MeshInterpreter,
  type MeshInterpreterOptions,
  meshChannel,
} from "./mesh-interpreter.js";
export { DeferredMeshInterpreter, meshInterpreterFactory } from "./mesh-interpreter-factory.js";
export {
  type MeshInterpreterConfig,
  type MeshTlsFiles,
  meshInterpreterSchema,
  readMeshTlsFiles,
} from "./mesh-interpreter-schema.js";
export { namerdRetrySchema } from "./namerd-client-schema.js";
export { type NamerdClientState, NamerdClientStatus } from "./namerd-client-status.js";
export { resolveNamerd } from "./namerd-dst.js";
export {
  NamerdThriftInterpreter,
  type NamerdThriftInterpreterConfig,
  namerdThriftInterpreterFactory,
  namerdThriftInterpreterSchema,
} from "./namerd-thrift-interpreter.js";
export { NamerdConnection, NamerdWatch } from "./namerd-watch.js";
export * as thrift from "./thrift/index.js";
export { withStateAndTransformers } from "./with-transformers.js";
