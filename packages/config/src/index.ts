export {
  type ConfigError,
  ConfigValidationError,
  type FormatOptions,
  formatConfigErrors,
  joinPath,
  type KeyPath,
  showKeyPath,
} from "./config-error.js";
export { type ParseResult, parseLinkerdConfig } from "./linkerd-config.js";
export type {
  AdminConfig,
  AdminSecurityConfig,
  Backoff,
  BindingCacheConfig,
  ClientParams,
  ClientSection,
  ClientStaticEntry,
  ClientTlsConfig,
  ForwardedLabeler,
  H2RouterConfig,
  H2Settings,
  HostConnectionPool,
  HttpRouterConfig,
  HttpServerConfig,
  LinkerdConfig,
  Retries,
  RetryBudget,
  RouterCommonConfig,
  RouterConfig,
  ServerConfig,
  ServerTlsConfig,
  ServiceParams,
  ServiceSection,
  ServiceStaticEntry,
  UsageConfig,
} from "./linkerd-config-types.js";
export {
  clientTlsSchema,
  DEFAULT_HTTP_IDENTIFIER,
  DEFAULT_IDENTIFIER,
  DEFAULT_INTERPRETER,
  DEFAULT_LOAD_BALANCER,
  h2RouterSchema,
  httpRouterSchema,
  linkerdSchema,
  type Registries,
  ROUTER_PROTOCOLS,
  routerSchema,
} from "./linkerd-schema.js";
export { type LoadedYaml, loadYaml } from "./load-yaml.js";
export {
  type InterpreterEntry,
  isParsedPlugin,
  type NamerEntry,
  type ParsedPlugin,
} from "./parsed-plugin.js";
export {
  type BuildContext,
  type FactoryList,
  type PluginFactory,
  type PluginLogger,
  Registry,
  registryOf,
} from "./plugin.js";
export {
  parsePluginObject,
  pluginListSlot,
  pluginSlot,
  type RawSlot,
  type SlotOptions,
} from "./plugin-slot.js";
export {
  bool,
  expected,
  issueMessages,
  namerCommonShape,
  nonEmptyString,
  nonNegativeInt,
  nonNegativeNumber,
  numberBetween,
  pluginCommonShape,
  port,
  positiveInt,
  transformerCommonShape,
} from "./schema-helpers.js";
export { resolveClientParams, resolveServiceParams, staticPrefixMatches } from "./static-params.js";
export { toConfigJson } from "./to-config-json.js";
