/**
 * Test support: an in-process namerd on loopback (inMemory storage, an io.l5d.fs namer over a
 * temp directory, the HTTP controller and admin on OS-chosen ports), and a line reader for
 * `?watch=true` streams.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { type RunningNamerd, startNamerd } from "../namerd.js";
import { parseNamerdConfig } from "../namerd-config.js";
import { createNamerdRegistries } from "../plugins.js";

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
