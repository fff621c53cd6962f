/**
 * A namerd interface (`interfaces[].kind`): a published network endpoint answering from the
 * namespaces (Linkerd's NamerdInterfaceConfig). Factories are registered by kind; `make`
 * validates nothing more and opens nothing: `listen` opens the port.
 */
import type { PluginLogger } from "@l5d/config";
import type { Namespaces } from "../namespaces.js";

export interface InterfaceContext {
  readonly namespaces: Namespaces;
  readonly log: PluginLogger;
}

export interface ListeningInterface {
  /** The bound address (the configured port, or the one the OS chose for port 0). */
  readonly host: string;
  readonly port: number;
  /** Stops accepting, ends watches and closes open connections. */
  close(): Promise<void>;
}

export interface NamerdInterface {
  readonly kind: string;
  listen(ctx: InterfaceContext): Promise<ListeningInterface>;
}
