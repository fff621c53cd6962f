/**
 * Every plugin the daemon knows, registered by its Linkerd `kind:` string. A test checks this
 * list against the README's config reference.
 */
import { type Registries, registryOf } from "@l5d/config";
import { httpClassifierFactories, httpIdentifierFactories } from "@l5d/h1-proxy";
import {
  failureAccrualFactories,
  identifierFactories,
  loadBalancerFactories,
  responseClassifierFactories,
} from "@l5d/h2-proxy";
import { namerdInterpreterFactories } from "@l5d/namerd-client/factories";
import {
  interpreterFactories,
  k8sNamerFactories,
  k8sTransformerFactories,
  namerFactories,
  transformerFactories,
} from "@l5d/namers";
import { ingressIdentifierFactory } from "./identifier-ingress.js";
import { influxDbTelemeterFactory } from "./telemetry/influxdb-telemeter.js";
import { otlpTelemeterFactory } from "./telemetry/otlp-telemeter.js";
import { prometheusTelemeterFactory } from "./telemetry/prometheus-telemeter.js";
import { recentRequestsTelemeterFactory } from "./telemetry/recent-requests-telemeter.js";
import { zipkinTelemeterFactory } from "./telemetry/zipkin-telemeter.js";

export function createRegistries(): Registries {
  return {
    namers: registryOf("namer", namerFactories, k8sNamerFactories),
    transformers: registryOf("transformer", transformerFactories, k8sTransformerFactories),
    identifiers: registryOf("identifier", identifierFactories, [ingressIdentifierFactory]),
    httpIdentifiers: registryOf("identifier", httpIdentifierFactories, [ingressIdentifierFactory]),
    interpreters: registryOf("interpreter", interpreterFactories, namerdInterpreterFactories),
    telemeters: registryOf("telemeter", [
      prometheusTelemeterFactory,
      recentRequestsTelemeterFactory,
      zipkinTelemeterFactory,
      otlpTelemeterFactory,
      influxDbTelemeterFactory,
    ]),
    loadBalancers: registryOf("load balancer", loadBalancerFactories),
    failureAccrual: registryOf("failure accrual", failureAccrualFactories),
    responseClassifiers: registryOf("response classifier", responseClassifierFactories),
    httpResponseClassifiers: registryOf("response classifier", httpClassifierFactories),
  };
}
