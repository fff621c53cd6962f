/** The router-side plugin factories this package provides, by family. */
import { apertureFactory } from "./balancer-aperture.js";
import { ewmaFactory } from "./balancer-ewma.js";
import { heapFactory } from "./balancer-heap.js";
import { p2cFactory } from "./balancer-p2c.js";
import { roundRobinFactory } from "./balancer-round-robin.js";
import { grpcClassifierFactories } from "./classifier-grpc.js";
import { h2ClassifierFactories } from "./classifier-h2.js";
import {
  consecutiveFailuresFactory,
  noFailureAccrualFactory,
  successRateFactory,
  successRateWindowedFactory,
} from "./failure-accrual-policies.js";
import { headerPathIdentifierFactory } from "./identifier-header-path.js";
import { headerTokenIdentifierFactory } from "./identifier-header-token.js";

export const identifierFactories = [
  headerPathIdentifierFactory,
  headerTokenIdentifierFactory,
] as const;
export const loadBalancerFactories = [
  p2cFactory,
  ewmaFactory,
  roundRobinFactory,
  heapFactory,
  apertureFactory,
] as const;
export const failureAccrualFactories = [
  consecutiveFailuresFactory,
  successRateFactory,
  successRateWindowedFactory,
  noFailureAccrualFactory,
] as const;
export const responseClassifierFactories = [
  ...h2ClassifierFactories,
  ...grpcClassifierFactories,
] as const;
