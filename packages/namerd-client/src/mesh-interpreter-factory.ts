/**
 * The `io.l5d.mesh` plugin. Its interpreter needs the gRPC stack (@grpc/grpc-js, protobufjs and
 * the generated mesh clients: about 14 MiB of RSS once loaded), which a linker whose routers do
 * not use namerd's mesh API should not pay for: the factory validates the config and reads its
 * TLS files when the router is built (a bad file still stops the daemon's start), and the
 * interpreter itself (`mesh-interpreter.ts`) is imported when the first router using the kind
 * is built. Until it is loaded (a few ms), a bind is pending, as any bind is until namerd
 * answers.
 */
import type { PluginFactory } from "@l5d/config";
import {
  Activity,
  type ActivityState,
  type DelegateTree,
  type Dtab,
  type NameBound,
  type NameInterpreter,
  type NameTree,
  type Path,
  toError,
  Var,
  type VarCell,
} from "@l5d/dtab";
import type { MeshInterpreter } from "./mesh-interpreter.js";
import {
  type MeshInterpreterConfig,
  meshInterpreterSchema,
  readMeshTlsFiles,
} from "./mesh-interpreter-schema.js";
import { retryMs } from "./namerd-client-schema.js";
import { type NamerdClientState, NamerdClientStatus } from "./namerd-client-status.js";
import { withStateAndTransformers } from "./with-transformers.js";

/** A `MeshInterpreter` that exists once its module is loaded; every call before waits for it. */
export class DeferredMeshInterpreter implements NameInterpreter {
  readonly #impl: VarCell<ActivityState<MeshInterpreter>> = Activity.cell();
  readonly #ready: Promise<MeshInterpreter>;
  /** What `state()` says until the interpreter exists. */
  readonly #status: NamerdClientStatus;
  #loaded: MeshInterpreter | undefined;
  #closed = false;

  constructor(config: MeshInterpreterConfig) {
    const files = readMeshTlsFiles(config);
    this.#status = new NamerdClientStatus(config.dst, config.root.elemUtf8(0));
    this.#ready = import("./mesh-interpreter.js").then((m) => {
      const interp = new m.MeshInterpreter({
        dst: config.dst,
        root: config.root,
        retry: retryMs(config.retry),
        ...m.meshChannel(config, files),
      });
      if (this.#closed) interp.close();
      this.#loaded = interp;
      this.#impl.update(Activity.ok(interp));
      return interp;
    });
    this.#ready.catch((e: unknown) => {
      const err = toError(e);
      this.#status.lastError = err.message;
      this.#impl.update(Activity.failed(err));
    });
  }

  bind(dtab: Dtab, path: Path): Activity<NameTree<NameBound>> {
    const loaded = this.#loaded;
    if (loaded !== undefined) return loaded.bind(dtab, path);
    return Var.flatMap(this.#impl, (s) =>
      s.kind === "ok" ? s.value.bind(dtab, path) : Var.value<ActivityState<never>>(s),
    );
  }

  async delegate(dtab: Dtab, path: Path): Promise<DelegateTree> {
    return (await this.#ready).delegate(dtab, path);
  }

  /** namerd's dtab for the namespace (`MeshInterpreter.dtab`). */
  dtab(): Activity<Dtab> {
    const loaded = this.#loaded;
    if (loaded !== undefined) return loaded.dtab();
    return Var.flatMap(this.#impl, (s) =>
      s.kind === "ok" ? s.value.dtab() : Var.value<ActivityState<never>>(s),
    );
  }

  state(): NamerdClientState {
    return this.#loaded?.state() ?? this.#status.state();
  }

  close(): void {
    this.#closed = true;
    this.#loaded?.close();
  }
}

export const meshInterpreterFactory: PluginFactory<MeshInterpreterConfig, NameInterpreter> = {
  kind: "io.l5d.mesh",
  schema: meshInterpreterSchema,
  make(config, ctx) {
    const interp = new DeferredMeshInterpreter(config);
    ctx.onClose(() => interp.close());
    return withStateAndTransformers(interp, ctx);
  },
};
