export type { CommandResult } from "./compose-cli.js";
export { CommandTimeoutError, runCommand } from "./compose-cli.js";
export type { ContainerEngine } from "./container-engine.js";
export { detectContainerEngine } from "./container-engine.js";
export type { SchemaIssue } from "./k8s-schema.js";
export { SERVED_KINDS, validateK8sObject } from "./k8s-schema.js";
export type { K8sObject } from "./manifests.js";
export { ManifestError, parseManifests, readManifests } from "./manifests.js";
export { RepoRootNotFoundError, repoRoot } from "./repo-root.js";
