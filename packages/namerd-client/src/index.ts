/**
 * l5d's interpreters that ask namerd to bind names (Linkerd's `io.l5d.namerd.http`,
 * `io.l5d.mesh`, `io.l5d.namerd`), each registered by kind in `namerdInterpreterFactories`.
 */
import type { PluginFactory } from "@l5d/config";
import type { NameInterpreter } from "@l5d/dtab";
import { namerdHttpInterpreterFactory } from "./http-interpreter.js";
import { meshInterpreterFactory } from "./mesh-interpreter.js";
import { namerdThriftInterpreterFactory } from "./namerd-thrift-interpreter.js";

export { Backoff } from "./backoff.js";
export { addrFromJson, boundTreeFromJson } from "./bound-tree-json.js";
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
  type MeshInterpreterConfig,
  type MeshInterpreterOptions,
  meshChannel,
  meshInterpreterFactory,
  meshInterpreterSchema,
} from "./mesh-interpreter.js";
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

// biome-ignore lint/suspicious/noExplicitAny: factories of differing config types share one list
type AnyFactory = PluginFactory<any, NameInterpreter>;

/** Every namerd interpreter, for l5d's interpreter registry. */
export const namerdInterpreterFactories: readonly AnyFactory[] = [
  namerdHttpInterpreterFactory,
  meshInterpreterFactory,
  namerdThriftInterpreterFactory,
];
