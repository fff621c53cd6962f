/**
 * Every plugin namerd knows, by Linkerd `kind:`: storage, interfaces, and the same namers and
 * transformers as l5d (from @l5d/namers).
 */
import { Registry } from "@l5d/config";
import * as namers from "@l5d/namers";
import { httpControllerFactory } from "./interfaces/http-controller.js";
import { meshInterfaceFactory } from "./interfaces/mesh-interface.js";
import { thriftInterfaceFactory } from "./interfaces/thrift-interface.js";
import type { NamerdRegistries } from "./namerd-config.js";
import { etcdStoreFactory } from "./storage/etcd-plugin.js";
import { inMemoryStoreFactory, inMemoryStoreLegacyFactory } from "./storage/in-memory-plugin.js";
import { k8sStoreFactory } from "./storage/k8s-plugin.js";

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

export const storageFactories: Factories = [
  inMemoryStoreFactory,
  inMemoryStoreLegacyFactory,
  etcdStoreFactory,
  k8sStoreFactory,
];

export const interfaceFactories: Factories = [
  httpControllerFactory,
  meshInterfaceFactory,
  thriftInterfaceFactory,
];

export const telemeterFactories: Factories = [];

export function createNamerdRegistries(): NamerdRegistries {
  return {
    storage: registry("storage", storageFactories),
    interfaces: registry("interface", interfaceFactories),
    namers: registry("namer", list("namerFactories"), list("k8sNamerFactories")),
    transformers: registry(
      "transformer",
      list("transformerFactories"),
      list("k8sTransformerFactories"),
    ),
    telemeters: registry("telemeter", telemeterFactories),
  };
}
