export {
  type EndpointsSpec,
  endpoints,
  namespace,
  type PodSpec,
  pod,
  type ServicePortSpec,
  type ServiceSpec,
  service,
} from "./builders.js";
export {
  deriveEndpointSlices,
  deriveEndpoints,
  isPodReady,
  MANAGED_BY_LABEL,
  reconcileNamespace,
  SERVICE_NAME_LABEL,
} from "./endpoints-controller.js";
export { FixturesError, loadFixtures, parseFixtures } from "./fixtures.js";
export { KINDS, type KindInfo, kindInfo, qualifiedResource } from "./kinds.js";
export { parseFieldSelector, parseLabelSelector, SelectorParseError } from "./selector.js";
export type { RequestRecord } from "./server.js";
export { type Standin, type StandinOptions, startStandin } from "./standin.js";
export {
  type StatusDetails,
  type StatusObject,
  type SuccessStatusObject,
  status,
  successStatus,
} from "./status.js";
export { ObjectStore, StandinObjectError } from "./store.js";
export type { ChangeEvent, K8sObject, ObjectMeta, WatchEventType } from "./types.js";
