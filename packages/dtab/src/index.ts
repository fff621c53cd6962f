export { Activity, type ActivityState, toError } from "./activity.js";
export { Addr, type Address, address } from "./addr.js";
export {
  ADDR_WEIGHT_KEY,
  type BindOptions,
  bind,
  boundTreeEquals,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_LOOKUPS,
  dedupActivity,
  type LookupFn,
} from "./bind.js";
export {
  DelegateMaxDepthError,
  type DelegateOptions,
  delegate,
  delegateRouting,
  markSelected,
  resolveDelegateAddrs,
} from "./delegate.js";
export {
  addrToJson,
  type DelegateJsonOptions,
  delegateTreeToJson,
  delegateTreeToJsonString,
  JsonDouble,
  javaDoubleToString,
} from "./delegate-json.js";
export {
  type DelegateAlt,
  type DelegateDelegate,
  type DelegateEmpty,
  type DelegateException,
  type DelegateFail,
  type DelegateLeaf,
  type DelegateNeg,
  type DelegateTransformation,
  type DelegateTree,
  type DelegateUnion,
  type DelegateWeighted,
  delegateFromNameTree,
  delegateTreeToNameTree,
  findInDelegateTree,
  isNopDentry,
  simplifyDelegateTree,
} from "./delegate-tree.js";
export { Dentry, Dtab, Prefix, type PrefixElem } from "./dtab.js";
export { DtabParseError } from "./dtab-parse-error.js";
export {
  BindBudgetExceededError,
  ClassNotFoundError,
  NamerExceededMaxDepthError,
  RequirementFailedError,
  UnknownNamerError,
} from "./errors.js";
export { delegationWithin } from "./fanout.js";
export { formatWeight } from "./format-weight.js";
export { globalNamer, parseJavaInt, registerSystemNamer } from "./global-namer.js";
export { INET_POLL_INTERVAL_MS, ipLiteral, parseJavaIPv4, resolveInet } from "./inet.js";
export {
  createDefaultInterpreter,
  type DefaultInterpreterOptions,
  dtabLookup,
  type NameInterpreter,
  namersLookup,
} from "./interpreter.js";
export { isBound, type Name, NameBound } from "./name.js";
export {
  DEFAULT_WEIGHT,
  NameTree,
  type NameTreeAlt,
  type NameTreeEmpty,
  type NameTreeFail,
  type NameTreeLeaf,
  type NameTreeNeg,
  type NameTreeUnion,
  type Weighted,
} from "./name-tree.js";
export type { MountedNamer, Namer } from "./namer.js";
export { isShowable, Path, showElem } from "./path.js";
export {
  anyHost,
  anyHostPfx,
  anyMethod,
  anyMethodPfx,
  domainToPath,
  domainToPathPfx,
  hostportPfx,
  porthostPfx,
  REWRITING_NAMERS,
  rinet,
  subdomainOf,
  subdomainOfPfx,
} from "./rewriting-namers.js";
export {
  applyTransformer,
  type NameTreeTransformer,
  transformerIdPrefix,
  transformNamer,
  withTransformers,
} from "./transformer.js";
export { type Closable, DerivedVar, type Observer, Var, VarCell } from "./var.js";
