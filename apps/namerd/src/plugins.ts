/**
 * Every plugin namerd knows, by Linkerd `kind:`: storage, interfaces, and the same namers and
 * transformers as l5d (from @l5d/namers).
 */
import { type FactoryList, registryOf } from "@l5d/config";
import {
  k8sNamerFactories,
  k8sTransformerFactories,
  namerFactories,
  transformerFactories,
} from "@l5d/namers";
import { httpControllerFactory } from "./interfaces/http-controller.js";
import { meshInterfaceFactory } from "./interfaces/mesh-interface.js";
import { thriftInterfaceFactory } from "./interfaces/thrift-interface.js";
import type { NamerdRegistries } from "./namerd-config.js";
import { etcdStoreFactory } from "./storage/etcd-plugin.js";
import { inMemoryStoreFactory, inMemoryStoreLegacyFactory } from "./storage/in-memory-plugin.js";
import { k8sStoreFactory } from "./storage/k8s-plugin.js";
import { namerdPrometheusFactory } from "./telemetry/prometheus-telemeter.js";

export const storageFactories: FactoryList = [
  inMemoryStoreFactory,
  inMemoryStoreLegacyFactory,
  etcdStoreFactory,
  k8sStoreFactory,
];

export const interfaceFactories: FactoryList = [
  httpControllerFactory,
  meshInterfaceFactory,
  thriftInterfaceFactory,
];

export const telemeterFactories: FactoryList = [namerdPrometheusFactory];

export function createNamerdRegistries(): NamerdRegistries {
  return {
    storage: registryOf("storage", storageFactories),
    interfaces: registryOf("interface", interfaceFactories),
    namers: registryOf("namer", namerFactories, k8sNamerFactories),
    transformers: registryOf("transformer", transformerFactories, k8sTransformerFactories),
    telemeters: registryOf("telemeter", telemeterFactories),
  };
}
