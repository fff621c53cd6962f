/**
 * Every namerd interpreter's plugin, for l5d's interpreter registry: the package's entry point
 * for the daemon (`@l5d/namerd-client/factories`). The daemon imports this and not the index,
 * which re-exports the mesh interpreter and its gRPC stack: here `io.l5d.mesh` is its factory
 * only, which loads the interpreter when a router uses it (`mesh-interpreter-factory.ts`).
 */
import type { PluginFactory } from "@l5d/config";
import type { NameInterpreter } from "@l5d/dtab";
import { namerdHttpInterpreterFactory } from "./http-interpreter.js";
import { meshInterpreterFactory } from "./mesh-interpreter-factory.js";
import { namerdThriftInterpreterFactory } from "./namerd-thrift-interpreter.js";

// biome-ignore lint/suspicious/noExplicitAny: factories of differing config types share one list
type AnyFactory = PluginFactory<any, NameInterpreter>;

/** Every namerd interpreter, for l5d's interpreter registry. */
export const namerdInterpreterFactories: readonly AnyFactory[] = [
  namerdHttpInterpreterFactory,
  meshInterpreterFactory,
  namerdThriftInterpreterFactory,
];
