/** The HTTP/1.1 router's identifiers, by their Linkerd `kind:`. */
import { headerIdentifierFactory } from "./identifier-header.js";
import { httpHeaderTokenIdentifierFactory } from "./identifier-header-token.js";
import { methodAndHostIdentifierFactory } from "./identifier-method-and-host.js";
import { pathIdentifierFactory } from "./identifier-path.js";
import { staticIdentifierFactory } from "./identifier-static.js";

export {
  type HeaderIdentifierConfig,
  headerIdentifier,
  headerIdentifierFactory,
} from "./identifier-header.js";
export {
  type HttpHeaderTokenConfig,
  httpHeaderTokenIdentifier,
  httpHeaderTokenIdentifierFactory,
} from "./identifier-header-token.js";
export {
  type MethodAndHostConfig,
  methodAndHostIdentifier,
  methodAndHostIdentifierFactory,
} from "./identifier-method-and-host.js";
export {
  type PathIdentifierConfig,
  pathIdentifier,
  pathIdentifierFactory,
} from "./identifier-path.js";
export {
  type StaticIdentifierConfig,
  staticIdentifier,
  staticIdentifierFactory,
} from "./identifier-static.js";
export { targetPath, targetQuery } from "./request-target.js";

/** Linkerd's HTTP/1.1 identifiers; `io.l5d.header.token` (Host) is the router's default. */
export const httpIdentifierFactories = [
  httpHeaderTokenIdentifierFactory,
  methodAndHostIdentifierFactory,
  pathIdentifierFactory,
  headerIdentifierFactory,
  staticIdentifierFactory,
] as const;
