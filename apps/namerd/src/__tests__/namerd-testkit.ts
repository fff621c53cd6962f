/**
 * Test support: an in-process namerd on loopback (inMemory storage, an io.l5d.fs namer over a
 * temp directory, the HTTP controller and admin on OS-chosen ports), a line reader for
 * `?watch=true` streams, and the pieces interface tests start a single interface from (a
 * silent logger and build context, a namer whose addresses the test sets, in-memory
 * namespaces bound through it, a self-signed certificate for TLS).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BuildContext, PluginLogger } from "@l5d/config";
import {
  Activity,
  Addr,
  Dtab,
  type MountedNamer,
  NameBound,
  NameTree,
  Path,
  VarCell,
} from "@l5d/dtab";
import { pino } from "pino";
import { type RunningNamerd, startNamerd } from "../namerd.js";
import { parseNamerdConfig } from "../namerd-config.js";
import { Namespaces } from "../namespaces.js";
import { createNamerdRegistries } from "../plugins.js";
import { InMemoryDtabStore } from "../storage/in-memory-store.js";

export interface TestNamerd {
  readonly namerd: RunningNamerd;
  /** `http://127.0.0.1:<port>` of the HTTP controller. */
  readonly api: string;
  /** `http://127.0.0.1:<port>` of the admin server. */
  readonly admin: string;
  /** The io.l5d.fs disco directory. */
  readonly disco: string;
  writeDisco(service: string, lines: string): void;
  close(): Promise<void>;
}

export async function startTestNamerd(
  extraYaml = "",
  seed = "  namespaces: {}\n",
  apiPort = 0,
): Promise<TestNamerd> {
  const disco = mkdtempSync(join(tmpdir(), "namerd-disco-"));
  const yaml = `admin:
  port: 0
storage:
  kind: io.l5d.inMemory
${seed}namers:
- kind: io.l5d.fs
  rootDir: ${disco}
interfaces:
- kind: io.l5d.httpController
  port: ${apiPort}
${extraYaml}`;
  const parsed = parseNamerdConfig(yaml, createNamerdRegistries());
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const namerd = await startNamerd(parsed.config, pino({ level: "silent" }));
  const http = namerd.interfaces.find((i) => i.kind === "io.l5d.httpController");
  if (!http) throw new Error("no http controller");
  return {
    namerd,
    api: `http://127.0.0.1:${http.port}`,
    admin: `http://127.0.0.1:${namerd.admin.port}`,
    disco,
    writeDisco: (service, lines) => writeFileSync(join(disco, service), lines),
    async close() {
      await namerd.close();
      rmSync(disco, { recursive: true, force: true });
    },
  };
}

/** Reads a streaming response line by line; `next()` waits (bounded) for the next line. */
export function watchLines(url: string): {
  next(timeoutMs?: number): Promise<string>;
  close(): void;
  readonly status: Promise<number>;
} {
  const lines: string[] = [];
  const waiters: Array<(l: string) => void> = [];
  let buf = "";
  let resolveStatus!: (n: number) => void;
  const status = new Promise<number>((r) => {
    resolveStatus = r;
  });
  const req = request(url, (res) => {
    resolveStatus(res.statusCode ?? 0);
    res.setEncoding("utf8");
    res.on("data", (d: string) => {
      buf += d;
      let i = buf.indexOf("\n");
      while (i >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const w = waiters.shift();
        if (w) w(line);
        else lines.push(line);
        i = buf.indexOf("\n");
      }
    });
  });
  req.on("error", () => {});
  req.end();
  return {
    status,
    next(timeoutMs = 5_000) {
      const l = lines.shift();
      if (l !== undefined) return Promise.resolve(l);
      return new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no line within ${timeoutMs} ms`)), timeoutMs);
        waiters.push((line) => {
          clearTimeout(t);
          resolve(line);
        });
      });
    },
    close: () => req.destroy(),
  };
}

/** A logger that drops everything. */
export const silentLog: PluginLogger = { info() {}, warn() {}, error() {}, debug() {} };

/** What a factory's `make` gets in tests that build one plugin directly. */
export const testBuildCtx: BuildContext = {
  env: {},
  log: silentLog,
  onClose() {},
  services: {},
};

/** A namer the test drives. */
export interface TestNamer {
  readonly mounted: MountedNamer;
  /** The addresses of `/#/test/<name>` (neg until the test sets them). */
  cell(name: string): VarCell<Addr>;
}

/** A namer whose addresses the test sets: `/#/test/<name>` → the cell of `<name>`. */
export function testNamer(): TestNamer {
  const cells = new Map<string, VarCell<Addr>>();
  const cell = (name: string) => {
    let c = cells.get(name);
    if (!c) {
      c = new VarCell<Addr>(Addr.neg);
      cells.set(name, c);
    }
    return c;
  };
  const prefix = Path.read("/#/test");
  const mounted: MountedNamer = {
    prefix,
    kind: "test",
    namer: {
      lookup: (p) =>
        p.isEmpty
          ? Activity.value(NameTree.neg)
          : Activity.value(
              NameTree.leaf(new NameBound(prefix.concat(p.take(1)), cell(p.elems[0]!), p.drop(1))),
            ),
    },
  };
  return { mounted, cell };
}

/** In-memory namespaces seeded with `dtabs` (namespace → dtab text), bound through a testNamer. */
export function testNamespaces(dtabs: Readonly<Record<string, string>>): {
  readonly namer: TestNamer;
  readonly store: InMemoryDtabStore;
  readonly namespaces: Namespaces;
} {
  const namer = testNamer();
  const store = new InMemoryDtabStore(
    Object.fromEntries(Object.entries(dtabs).map(([ns, text]) => [ns, Dtab.read(text)])),
  );
  return { namer, store, namespaces: new Namespaces(store, [namer.mounted]) };
}

/**
 * Writes a self-signed certificate and its key (openssl) into `dir`, for `subject` with the
 * subjectAltName `altName`; returns their paths.
 */
export function writeSelfSignedCert(
  dir: string,
  {
    subject = "/CN=namerd.test",
    altName = "DNS:namerd.test",
    days = 1,
    certFile = "cert.pem",
    keyFile = "key.pem",
  }: {
    subject?: string;
    altName?: string;
    days?: number;
    certFile?: string;
    keyFile?: string;
  } = {},
): { cert: string; key: string } {
  const cert = join(dir, certFile);
  const key = join(dir, keyFile);
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      String(days),
      "-subj",
      subject,
      "-addext",
      `subjectAltName=${altName}`,
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { stdio: "ignore" },
  );
  return { cert, key };
}
