/**
 * Plugins: every pluggable thing (namer, transformer, identifier, interpreter, load balancer,
 * failure accrual, response classifier, telemeter) is a factory registered under its Linkerd
 * `kind:` string, with a zod schema validated before anything is built (Linkerd's
 * ConfigInitializer + PolymorphicConfig, done explicitly as grpc-js's registerResolver does).
 */
import type { z } from "zod";

/** What a factory gets when it builds its plugin. */
export interface BuildContext {
  /** Environment variables (process.env by default; tests pass their own). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Structured logger (pino-compatible subset). */
  readonly log: PluginLogger;
  /** Plugins that hold resources (watches, timers) register their cleanup here. */
  onClose(f: () => void | Promise<void>): void;
  /** Extra, family-specific services (e.g. the configured namers for a transformer). */
  readonly services: Readonly<Record<string, unknown>>;
}

export interface PluginLogger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
}

export interface PluginFactory<C = unknown, T = unknown> {
  /** The Linkerd `kind:` string, e.g. `io.l5d.fs`. */
  readonly kind: string;
  /**
   * The schema of the whole config object, `kind` included. It should be strict (unknown
   * keys are errors) and give Linkerd's defaults.
   */
  readonly schema: z.ZodType<C>;
  /** Must be enabled with `experimental: true` in the config. */
  readonly experimental?: boolean;
  /** Builds the plugin. May throw an Error whose message is shown with the key path. */
  make(config: C, ctx: BuildContext): T;
}

/** One registry per family: namers, transformers, identifiers, ... */
export class Registry<T> {
  readonly #factories = new Map<string, PluginFactory<unknown, T>>();

  constructor(readonly family: string) {}

  register<C>(factory: PluginFactory<C, T>): void {
    if (this.#factories.has(factory.kind)) {
      throw new Error(`duplicate ${this.family} kind '${factory.kind}'`);
    }
    this.#factories.set(factory.kind, factory as PluginFactory<unknown, T>);
  }

  get(kind: string): PluginFactory<unknown, T> | undefined {
    return this.#factories.get(kind);
  }

  get kinds(): string[] {
    return [...this.#factories.keys()].sort();
  }
}

/** Factories of one family, whatever their config and plugin types (a package's exported list). */
export type FactoryList = ReadonlyArray<{ readonly kind: string }>;

/**
 * A registry for `family` holding every factory of `groups`, in order: how an app assembles
 * its registries from the lists the plugin packages export. A kind registered twice throws.
 */
export function registryOf(family: string, ...groups: FactoryList[]): Registry<unknown> {
  const r = new Registry<unknown>(family);
  for (const g of groups)
    for (const f of g) r.register(f as Parameters<Registry<unknown>["register"]>[0]);
  return r;
}
