/** The HTTP/1.1 router's identifiers, by their Linkerd `kind:`. */
import { headerIdentifierFactory } from "./identifier-header.js";
import { httpHeaderTokenIdentifierFactory } from "./identifier-header-token.js";
import { methodAndHostIdentifierFactory } from "./identifier-method-and-host.js";
import { pathIdentifierFactory } from "./identifier-path.js";
import { staticIdentifierFactory } from "./identifier-static.js";

export { headerIdentifier, headerIdentifierFactory } from "./identifier-header.js";
export { httpHeaderTokenIdentifierFactory } from "./identifier-header-token.js";
export {
  methodAndHostIdentifier,
  methodAndHostIdentifierFactory,
} from "./identifier-method-and-host.js";
export { pathIdentifier, pathIdentifierFactory } from "./identifier-path.js";
export { staticIdentifier, staticIdentifierFactory } from "./identifier-static.js";
export { targetPath, targetQuery } from "./request-target.js";

export const httpIdentifierFactories = [
  httpHeaderTokenIdentifierFactory,
  methodAndHostIdentifierFactory,
  pathIdentifierFactory,
  headerIdentifierFactory,
  staticIdentifierFactory,
] as const;
