/**
 * `io.l5d.namerd.http` (experimental, as in Linkerd): a router's names are bound by namerd
 * through its HTTP streaming API (`io.l5d.httpController`) instead of the linker's own namers.
 * Each (dtab, name) pair is one `/api/1/bind/<namespace>?watch=true` stream, each bound id one
 * `/api/1/addr/<namespace>?watch=true` stream, shared by every observer and closed when the
 * last one leaves. A dtab change in namerd reaches the linker without a restart; while namerd
 * is unreachable the linker keeps routing with the last trees and addresses it had.
 */
import { type PluginFactory, pluginCommonShape } from "@l5d/config";
import {
  Activity,
  type ActivityState,
  type Addr,
  DerivedVar,
  type Dtab,
  type NameBound,
  type NameInterpreter,
  type NameTree,
  type Path,
  type Var,
} from "@l5d/dtab";
import { z } from "zod";
import { addrFromJson, boundTreeFromJson } from "./bound-tree-json.js";
import { namerdRetrySchema, namespaceSchema, pathSchema, retryMs } from "./namerd-client-schema.js";
import type { NamerdClientState } from "./namerd-client-status.js";
import { NamerdConnection, NamerdWatch } from "./namerd-watch.js";
import { withStateAndTransformers } from "./with-transformers.js";

export const namerdHttpInterpreterSchema = z.strictObject({
  ...pluginCommonShape,
  kind: z.literal("io.l5d.namerd.http"),
  dst: pathSchema("/$/inet/namerd/4180"),
  namespace: namespaceSchema,
  retry: namerdRetrySchema,
});
export type NamerdHttpInterpreterConfig = z.infer<typeof namerdHttpInterpreterSchema>;

export class NamerdHttpInterpreter implements NameInterpreter {
  readonly #conn: NamerdConnection;
  readonly #binds = new Map<string, Var<ActivityState<NameTree<NameBound>>>>();
  readonly #addrs = new Map<string, { v: Var<Addr>; latest: Addr }>();

  constructor(opts: { dst: Path; namespace: string; retry: { baseMs: number; maxMs: number } }) {
    this.#conn = new NamerdConnection(opts.dst, opts.namespace, opts.retry);
  }

  bind(dtab: Dtab, path: Path): Activity<NameTree<NameBound>> {
    const key = `${dtab.show}\n${path.show}`;
    const existing = this.#binds.get(key);
    if (existing) return existing;
    const ns = encodeURIComponent(this.#conn.namespace);
    const q = new URLSearchParams({ path: path.show });
    if (dtab.size > 0) q.set("dtab", dtab.show);
    const v = new DerivedVar<ActivityState<NameTree<NameBound>>>((emit) => {
      this.#binds.set(key, v);
      emit(Activity.pending);
      const w = new NamerdWatch(this.#conn, `/api/1/bind/${ns}?${q}`, {
        value: (json) =>
          emit(Activity.ok(boundTreeFromJson(json, (id, initial) => this.#addr(id, initial)))),
        failed: (e) => emit(Activity.failed(e)),
      });
      w.start();
      return {
        close: () => {
          w.stop();
          if (this.#binds.get(key) === v) this.#binds.delete(key);
        },
      };
    });
    return v;
  }

  /** The addresses of a bound id, streamed from namerd, seeded with what the bind carried. */
  #addr(id: Path, initial: Addr): Var<Addr> {
    const key = id.show;
    const existing = this.#addrs.get(key);
    if (existing) return existing.v;
    const ns = encodeURIComponent(this.#conn.namespace);
    const q = new URLSearchParams({ path: id.show });
    const entry = { v: undefined as unknown as Var<Addr>, latest: initial };
    entry.v = new DerivedVar<Addr>((emit) => {
      this.#addrs.set(key, entry);
      emit(entry.latest);
      const w = new NamerdWatch(this.#conn, `/api/1/addr/${ns}?${q}`, {
        value: (json) => {
          const a = addrFromJson(json);
          entry.latest = a;
          emit(a);
        },
        // the bind's addresses stand until namerd answers
        failed: () => {},
      });
      w.start();
      return {
        close: () => {
          w.stop();
          if (this.#addrs.get(key) === entry) this.#addrs.delete(key);
        },
      };
    });
    return entry.v;
  }

  /** For the admin page: where namerd is, whether it answers, the last error. */
  state(): NamerdClientState {
    return this.#conn.state();
  }
}

export const namerdHttpInterpreterFactory: PluginFactory<
  NamerdHttpInterpreterConfig,
  NameInterpreter
> = {
  kind: "io.l5d.namerd.http",
  experimental: true,
  schema: namerdHttpInterpreterSchema,
  make(config, ctx) {
    const interp = new NamerdHttpInterpreter({
      dst: config.dst,
      namespace: config.namespace,
      retry: retryMs(config.retry),
    });
    return withStateAndTransformers(interp, ctx);
  },
};
