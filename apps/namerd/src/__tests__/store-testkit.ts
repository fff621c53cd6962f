/**
 * Test support for the dtab store tests (etcd, k8s): sample dtabs, polling and sampling helpers,
 * a logger that records what a store says, and a TCP server that accepts connections and never
 * answers (a backend that hangs).
 */
import { createServer, type Socket } from "node:net";
import type { PluginLogger } from "@l5d/config";
import { type Activity, Dtab } from "@l5d/dtab";
import type { VersionedDtab } from "../storage/dtab-store.js";

export const d1 = Dtab.read("/svc=>/#/io.l5d.fs");
export const d2 = Dtab.read("/svc=>/#/io.l5d.k8s/default/http");
export const d3 = Dtab.read("/svc/a=>/$/inet/127.0.0.1/1");

/** Polls `f` until it returns true: at most `ms`, every 10 ms. */
export async function eventually(what: string, f: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (f()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** The value of `a` if it is ok now. */
export function current<T>(a: Activity<T>): T | undefined {
  const s = a.sample();
  return s.kind === "ok" ? s.value : undefined;
}

/** A namespace's dtab as text: null while absent, undefined while pending or failed. */
export function showOf(a: Activity<VersionedDtab | null>): string | null | undefined {
  const v = current(a);
  return v === undefined ? undefined : v === null ? null : v.dtab.show;
}

export interface LogLine {
  level: string;
  obj: object | string;
  msg: string | undefined;
}

/** A logger that keeps every line, for tests that check what a store reported. */
export function captureLog(): { log: PluginLogger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (obj: object | string, msg?: string) => {
    lines.push({ level, obj, msg });
  };
  return {
    lines,
    log: { info: at("info"), warn: at("warn"), error: at("error"), debug: at("debug") },
  };
}

/** A TCP server on loopback that accepts connections and stays silent, until closed. */
export async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on("error", () => {});
    sock.on("close", () => sockets.delete(sock));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return {
    port: address.port,
    close: () =>
      new Promise<void>((r) => {
        for (const sock of sockets) sock.destroy();
        server.close(() => r());
      }),
  };
}
