export { AgentCommandError, ApiAgent } from "./api-agent.js";
export { AGENT_MARK, type AgentCommand, type AgentRequest } from "./api-agent-protocol.js";
export {
  LabProcess,
  type LabProcessOptions,
  type RunResult,
  runInNamespace,
} from "./lab-process.js";
export {
  CTL,
  LAB_NODES,
  LAB_PODS,
  labHosts,
  nodeOf,
  POD_RANGE,
  SCALED_WORLD_V1,
} from "./lab-topology.js";
export {
  type LabHostSpec,
  NETNS_PREFIX,
  NetnsCommandError,
  NetnsLab,
  type NetnsLabOptions,
  netnsAvailability,
  staleNamespaces,
} from "./netns-lab.js";
export { RepoRootNotFoundError, repoRoot } from "./repo-root.js";
