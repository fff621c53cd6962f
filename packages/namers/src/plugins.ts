/**
 * Every plugin factory of this package, one line each, for the daemon's registries.
 * The Kubernetes ones are in k8s-plugins.ts (k8sNamerFactories, k8sTransformerFactories).
 */
import type { PluginFactory } from "@l5d/config";
import type { MountedNamer, NameInterpreter, NameTreeTransformer } from "@l5d/dtab";
import { defaultInterpreterFactory } from "./interpreter-default.js";
import { fsNamerFactory } from "./namer-fs.js";
import { rewriteNamerFactory } from "./namer-rewrite.js";
import { localhostTransformerFactory } from "./transformer-localhost.js";
import { portTransformerFactory } from "./transformer-port.js";
import { constTransformerFactory, replaceTransformerFactory } from "./transformer-replace.js";
import { specificHostTransformerFactory } from "./transformer-specific-host.js";

// biome-ignore lint/suspicious/noExplicitAny: factories of differing config types share one list
type AnyFactory<T> = PluginFactory<any, T>;

export const namerFactories: readonly AnyFactory<MountedNamer>[] = [
  fsNamerFactory,
  rewriteNamerFactory,
];

export const transformerFactories: readonly AnyFactory<NameTreeTransformer>[] = [
  portTransformerFactory,
  localhostTransformerFactory,
  specificHostTransformerFactory,
  replaceTransformerFactory,
  constTransformerFactory,
];

export const interpreterFactories: readonly AnyFactory<NameInterpreter>[] = [
  defaultInterpreterFactory,
];
