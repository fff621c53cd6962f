/**
 * namerd's bounds, each shown to hold: connections per interface (`maxConnections` of the HTTP
 * API and of the ThriftMux interface), the admin's body size, and the ids remembered for
 * `/api/1/bound-names`.
 */
import { connect, type Socket } from "node:net";
import { Activity, Dtab, Path } from "@l5d/dtab";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningNamerd, startNamerd } from "../namerd.js";
import { parseNamerdConfig } from "../namerd-config.js";
import { Namespaces } from "../namespaces.js";
import { createNamerdRegistries } from "../plugins.js";
import { InMemoryDtabStore } from "../storage/in-memory-store.js";

let namerd: RunningNamerd;
const sockets: Socket[] = [];

beforeAll(async () => {
  const parsed = parseNamerdConfig(
    `admin: {port: 0}
storage:
  kind: io.l5d.inMemory
  namespaces:
    default: /svc => /$/inet/127.0.0.1
interfaces:
- kind: io.l5d.httpController
  port: 0
  maxConnections: 3
- kind: io.l5d.thriftNameInterpreter
  port: 0
  maxConnections: 2
`,
    createNamerdRegistries(),
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  namerd = await startNamerd(parsed.config, pino({ level: "silent" }));
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await namerd?.close();
});

const portOf = (kind: string) => namerd.interfaces.find((i) => i.kind === kind)!.port;

/** A connected socket that sends nothing. */
function idle(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => resolve(s));
    s.on("error", reject);
    sockets.push(s);
  });
}

/** Whether the server closes `s` within `ms`. */
function closedWithin(s: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (s.destroyed || s.readableEnded) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    s.once("close", () => {
      clearTimeout(t);
      resolve(true);
    });
    s.resume();
  });
}

describe("namerd limits", () => {
  it.each([
    ["io.l5d.httpController", 3],
    ["io.l5d.thriftNameInterpreter", 2],
  ] as const)("%s accepts at most maxConnections (%i) connections at once", async (kind, max) => {
    const held = [];
    for (let i = 0; i < max; i++) held.push(await idle(portOf(kind)));
    const extra = await idle(portOf(kind));
    expect(await closedWithin(extra, 2_000)).toBe(true);
    for (const s of held) expect(await closedWithin(s, 100)).toBe(false);
    // one leaves: a new connection is served again
    held[0]!.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const again = await idle(portOf(kind));
    expect(await closedWithin(again, 300)).toBe(false);
    for (const s of [...held, again]) s.destroy();
    await new Promise((r) => setTimeout(r, 100));
  });

  it("the admin refuses a dtab body over 1 MiB with 413 and stores nothing", async () => {
    const r = await fetch(`http://127.0.0.1:${namerd.admin.port}/dtabs/huge`, {
      method: "PUT",
      body: `/a => /${"b".repeat(1_100_000)}`,
    });
    expect(r.status).toBe(413);
    expect(await Activity.toPromise(namerd.namespaces.store.observe("huge"))).toBeNull();
  });

  it("remembers at most maxBoundNames ids for /api/1/bound-names", async () => {
    const ns = new Namespaces(
      new InMemoryDtabStore({ default: Dtab.read("/svc => /$/inet/127.0.0.1") }),
      [],
      {
        maxBoundNames: 3,
      },
    );
    for (let p = 1001; p <= 1005; p++)
      await Activity.toPromise(ns.bind("default", Path.read(`/svc/${p}`)));
    expect(ns.boundNames().sample()).toEqual([
      "/$/inet/127.0.0.1/1001",
      "/$/inet/127.0.0.1/1002",
      "/$/inet/127.0.0.1/1003",
    ]);
  });
});
