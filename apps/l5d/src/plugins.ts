/**
 * Every plugin the daemon knows, registered by its Linkerd `kind:` string. A test checks this
 * list against the README's config reference.
 */
import { type Registries, Registry } from "@l5d/config";
import { httpClassifierFactories, httpIdentifierFactories } from "@l5d/h1-proxy";
import {
  failureAccrualFactories,
  identifierFactories,
  loadBalancerFactories,
  responseClassifierFactories,
} from "@l5d/h2-proxy";
import { namerdInterpreterFactories } from "@l5d/namerd-client";
import * as namers from "@l5d/namers";
import { ingressIdentifierFactory } from "./identifier-ingress.js";
import { influxDbTelemeterFactory } from "./telemetry/influxdb-telemeter.js";
import { otlpTelemeterFactory } from "./telemetry/otlp-telemeter.js";
import { prometheusTelemeterFactory } from "./telemetry/prometheus-telemeter.js";
import { recentRequestsTelemeterFactory } from "./telemetry/recent-requests-telemeter.js";
import { zipkinTelemeterFactory } from "./telemetry/zipkin-telemeter.js";

type Factories = ReadonlyArray<{ readonly kind: string }>;

function list(name: string): Factories {
  const v = (namers as Record<string, unknown>)[name];
  return Array.isArray(v) ? (v as Factories) : [];
}

function registry(family: string, ...groups: Factories[]): Registry<unknown> {
  const r = new Registry<unknown>(family);
  for (const g of groups)
    for (const f of g) r.register(f as Parameters<Registry<unknown>["register"]>[0]);
  return r;
}

export function createRegistries(): Registries {
  return {
    namers: registry("namer", list("namerFactories"), list("k8sNamerFactories")),
    transformers: registry(
      "transformer",
      list("transformerFactories"),
      list("k8sTransformerFactories"),
    ),
    identifiers: registry("identifier", identifierFactories, [ingressIdentifierFactory]),
    httpIdentifiers: registry("identifier", httpIdentifierFactories, [ingressIdentifierFactory]),
    interpreters: registry("interpreter", list("interpreterFactories"), namerdInterpreterFactories),
    telemeters: registry("telemeter", [
      prometheusTelemeterFactory,
      recentRequestsTelemeterFactory,
      zipkinTelemeterFactory,
      otlpTelemeterFactory,
      influxDbTelemeterFactory,
    ]),
    loadBalancers: registry("load balancer", loadBalancerFactories),
    failureAccrual: registry("failure accrual", failureAccrualFactories),
    responseClassifiers: registry("response classifier", responseClassifierFactories),
    httpResponseClassifiers: registry("response classifier", httpClassifierFactories),
  };
}
