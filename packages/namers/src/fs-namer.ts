/**
 * The io.l5d.fs namer (Linkerd's WatchingNamer): `/#/io.l5d.fs/<file>[/<rest>]` binds to the
 * addresses listed in `<rootDir>/<file>` (directories recurse), id = prefix ++ consumed
 * elements, residual = the rest; a missing file is Neg. The directory is watched with
 * fs.watch plus a periodic poll (fs.watch misses events on some file systems): file contents
 * update the Addr in place, files appearing or disappearing flip the tree between Neg and bound.
 */
import { type Dirent, type FSWatcher, watch } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { PluginLogger } from "@l5d/config";
import {
  Activity,
  type ActivityState,
  Addr,
  type Closable,
  DerivedVar,
  type Name,
  NameBound,
  type Namer,
  NameTree,
  type Path,
  VarCell,
} from "@l5d/dtab";
import {
  type FsLineError,
  parseAddrFile,
  resolveAddrLines,
  showFsLineError,
} from "./fs-addr-file.js";

export interface FsNamerOptions {
  /** The directory holding one file per service. */
  readonly rootDir: string;
  /** The mount prefix, e.g. `/#/io.l5d.fs`; bound ids start with it. */
  readonly idPrefix: Path;
  /** Poll interval backing up fs.watch, in ms. Default 1000. */
  readonly pollIntervalMs?: number;
  readonly log?: PluginLogger;
}

type EntryType = "file" | "dir";
type Listing = ReadonlyMap<string, EntryType>;

interface FileState {
  readonly abs: string;
  readonly rel: string;
  readonly addr: VarCell<Addr>;
  text: string | undefined;
  gen: number;
  errors: readonly FsLineError[];
}

interface DirState {
  readonly abs: string;
  readonly rel: string;
  readonly listing: VarCell<ActivityState<Listing>>;
  readonly files: Map<string, FileState>;
  readonly dirs: Map<string, DirState>;
  watcher: FSWatcher | undefined;
}

function sameListing(a: Listing, b: Listing): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

const NOOP_LOG: PluginLogger = { info() {}, warn() {}, error() {}, debug() {} };

export class FsNamer implements Namer {
  readonly #root: DirState;
  readonly #idPrefix: Path;
  readonly #log: PluginLogger;
  readonly #timer: NodeJS.Timeout;
  #closed = false;
  #scan: Promise<void> | undefined;
  #again = false;
  #debounce: NodeJS.Timeout | undefined;

  constructor(opts: FsNamerOptions) {
    this.#idPrefix = opts.idPrefix;
    this.#log = opts.log ?? NOOP_LOG;
    this.#root = this.#dir(opts.rootDir, "");
    this.#timer = setInterval(() => void this.refresh(), opts.pollIntervalMs ?? 1000);
    this.#timer.unref();
    void this.refresh();
  }

  lookup(path: Path): Activity<NameTree<Name>> {
    return this.#lookupIn(this.#root, this.#idPrefix, path);
  }

  /** The malformed lines of every watched file, by file (relative to rootDir). */
  errors(): ReadonlyMap<string, readonly FsLineError[]> {
    const out = new Map<string, readonly FsLineError[]>();
    const walk = (d: DirState) => {
      for (const f of d.files.values()) if (f.errors.length > 0) out.set(f.rel, f.errors);
      for (const s of d.dirs.values()) walk(s);
    };
    walk(this.#root);
    return out;
  }

  /** Rescans now; resolves when the directory listing and watched files are up to date. */
  refresh(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#scan) {
      this.#again = true;
      return this.#scan;
    }
    this.#scan = (async () => {
      try {
        do {
          this.#again = false;
          await this.#scanDir(this.#root);
        } while (this.#again && !this.#closed);
      } finally {
        this.#scan = undefined;
      }
    })();
    return this.#scan;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    if (this.#debounce) clearTimeout(this.#debounce);
    const walk = (d: DirState) => {
      d.watcher?.close();
      d.watcher = undefined;
      for (const s of d.dirs.values()) walk(s);
    };
    walk(this.#root);
  }

  #dir(abs: string, rel: string): DirState {
    const d: DirState = {
      abs,
      rel,
      listing: new VarCell<ActivityState<Listing>>(Activity.pending),
      files: new Map(),
      dirs: new Map(),
      watcher: undefined,
    };
    this.#watch(d);
    return d;
  }

  #watch(d: DirState): void {
    if (this.#closed || d.watcher) return;
    try {
      d.watcher = watch(d.abs, { persistent: false }, () => this.#soon());
      d.watcher.on("error", () => {
        d.watcher?.close();
        d.watcher = undefined;
      });
    } catch {
      d.watcher = undefined; // the poll covers it; retried on the next scan
    }
  }

  #soon(): void {
    if (this.#closed || this.#debounce) return;
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      void this.refresh();
    }, 20);
    this.#debounce.unref();
  }

  async #scanDir(d: DirState): Promise<void> {
    let listing: Map<string, EntryType>;
    try {
      const entries: Dirent[] = await readdir(d.abs, { withFileTypes: true });
      listing = new Map();
      for (const e of entries) {
        if (e.isFile()) listing.set(e.name, "file");
        else if (e.isDirectory()) listing.set(e.name, "dir");
        else if (e.isSymbolicLink()) {
          const s = await stat(join(d.abs, e.name)).catch(() => undefined);
          if (s?.isFile()) listing.set(e.name, "file");
          else if (s?.isDirectory()) listing.set(e.name, "dir");
        }
      }
      this.#watch(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") {
        this.#log.warn({ dir: d.abs, err: String(e) }, "io.l5d.fs: cannot list directory");
      }
      listing = new Map();
      d.watcher?.close();
      d.watcher = undefined;
    }
    if (this.#closed) return;
    const prev = d.listing.sample();
    if (prev.kind !== "ok" || !sameListing(prev.value, listing))
      d.listing.update(Activity.ok(listing));
    await Promise.all([
      ...[...d.files.entries()].map(([name, f]) =>
        listing.get(name) === "file" ? this.#readFile(f) : this.#gone(f),
      ),
      ...[...d.dirs.values()].map((s) => this.#scanDir(s)),
    ]);
  }

  #gone(f: FileState): Promise<void> {
    f.text = undefined;
    f.errors = [];
    f.gen++;
    f.addr.update(Addr.neg);
    return Promise.resolve();
  }

  async #readFile(f: FileState): Promise<void> {
    let text: string;
    try {
      text = await readFile(f.abs, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return this.#gone(f);
      f.gen++;
      f.text = undefined;
      f.addr.update(Addr.failed(e instanceof Error ? e : new Error(String(e))));
      return;
    }
    if (this.#closed || text === f.text) return;
    f.text = text;
    const gen = ++f.gen;
    const parsed = parseAddrFile(text, f.rel);
    const resolved = await resolveAddrLines(parsed.lines, f.rel);
    if (gen !== f.gen || this.#closed) return;
    const errors = [...parsed.errors, ...resolved.errors].sort((a, b) => a.line - b.line);
    f.errors = errors;
    for (const e of errors)
      this.#log.warn({ file: f.abs, line: e.line }, `io.l5d.fs: ${showFsLineError(e)}`);
    if (resolved.addrs.length === 0 && errors.length > 0) {
      f.addr.update(Addr.failed(new Error(errors.map(showFsLineError).join("; "))));
    } else {
      f.addr.update(Addr.bound(resolved.addrs));
    }
  }

  #file(d: DirState, name: string): FileState {
    let f = d.files.get(name);
    if (!f) {
      f = {
        abs: join(d.abs, name),
        rel: d.rel === "" ? name : `${d.rel}/${name}`,
        addr: new VarCell<Addr>(Addr.pending),
        text: undefined,
        gen: 0,
        errors: [],
      };
      d.files.set(name, f);
      void this.#readFile(f);
    }
    return f;
  }

  #subdir(d: DirState, name: string): DirState {
    let s = d.dirs.get(name);
    if (!s) {
      s = this.#dir(join(d.abs, name), d.rel === "" ? name : `${d.rel}/${name}`);
      d.dirs.set(name, s);
      void this.#scanDir(s);
    }
    return s;
  }

  #lookupIn(d: DirState, idPrefix: Path, path: Path): Activity<NameTree<Name>> {
    if (path.isEmpty) return Activity.value<NameTree<Name>>(NameTree.neg);
    const name = path.elemUtf8(0);
    const id = idPrefix.concat(path.take(1));
    const residual = path.drop(1);
    return new DerivedVar<ActivityState<NameTree<Name>>>((emit) => {
      let key: string | undefined;
      let inner: Closable | undefined;
      const sub = d.listing.observe((state) => {
        let next: string;
        if (state.kind === "pending") next = "pending";
        else if (state.kind === "failed") next = `failed:${state.error.message}`;
        else next = state.value.get(name) ?? "neg";
        if (next === key) return;
        key = next;
        inner?.close();
        inner = undefined;
        if (state.kind !== "ok") {
          emit(state as ActivityState<never>);
        } else if (next === "file") {
          const f = this.#file(d, name);
          emit(Activity.ok<NameTree<Name>>(NameTree.leaf(new NameBound(id, f.addr, residual))));
        } else if (next === "dir") {
          inner = this.#lookupIn(this.#subdir(d, name), id, residual).observe(emit);
        } else {
          emit(Activity.ok<NameTree<Name>>(NameTree.neg));
        }
      });
      return {
        close: () => {
          sub.close();
          inner?.close();
        },
      };
    });
  }
}
