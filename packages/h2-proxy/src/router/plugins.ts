/** The router-side plugin factories this package provides, by family. */
import { p2cFactory } from "./balancer-p2c.js";
import { headerPathIdentifierFactory } from "./identifier-header-path.js";
import { headerTokenIdentifierFactory } from "./identifier-header-token.js";

export const identifierFactories = [headerPathIdentifierFactory, headerTokenIdentifierFactory] as const;
export const loadBalancerFactories = [p2cFactory] as const;
