/**
 * namerd on a real etcd through its HTTP API: concurrent PUTs (exactly one wins), a bad dtab
 * (400, the stored one unchanged), and an etcd outage: namerd keeps serving its last state,
 * reports unhealthy, refuses writes with 503, and recovers when etcd is back.
 */
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningNamerd, startNamerd } from "../namerd.js";
import { parseNamerdConfig } from "../namerd-config.js";
import { createNamerdRegistries } from "../plugins.js";
import { EtcdProcess } from "../storage/etcd-process.testkit.js";

let etcd: EtcdProcess;
let namerd: RunningNamerd;
let api: string;
let admin: string;

beforeAll(async () => {
  etcd = await EtcdProcess.launch();
  const parsed = parseNamerdConfig(
    `admin: {port: 0}
storage:
  kind: io.l5d.etcd
  experimental: true
  host: 127.0.0.1
  port: ${etcd.clientPort}
interfaces:
- kind: io.l5d.httpController
  port: 0
`,
    createNamerdRegistries(),
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  namerd = await startNamerd(parsed.config, pino({ level: "silent" }));
  api = `http://127.0.0.1:${namerd.interfaces[0]!.port}`;
  admin = `http://127.0.0.1:${namerd.admin.port}`;
}, 60_000);

afterAll(async () => {
  await namerd?.close();
  await etcd?.close();
});

const put = (ns: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${api}/api/1/dtabs/${ns}`, {
    method: "PUT",
    body,
    headers: { "content-type": "application/dtab", ...headers },
  });

async function until(cond: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("namerd with io.l5d.etcd", () => {
  it("creates and reads a dtab stored in etcd, its mod revision as the version", async () => {
    const created = await fetch(`${api}/api/1/dtabs/default`, {
      method: "POST",
      body: "/svc => /#/io.l5d.fs",
      headers: { "content-type": "application/dtab" },
    });
    expect(created.status).toBe(204);
    const r = await fetch(`${api}/api/1/dtabs/default`, {
      headers: { accept: "application/dtab" },
    });
    expect((await r.text()).trim()).toBe("/svc=>/#/io.l5d.fs");
    const version = Buffer.from(r.headers.get("etag")!, "base64").toString("utf8");
    expect(version).toMatch(/^\d+$/);
  });

  it("concurrent PUTs from one version: exactly one wins, the others get 412", async () => {
    const etag = (await fetch(`${api}/api/1/dtabs/default`)).headers.get("etag")!;
    const codes = (
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          put("default", `/svc => /$/inet/127.0.0.1/${i + 1}`, { "if-match": etag }),
        ),
      )
    ).map((r) => r.status);
    expect(codes.filter((c) => c === 204)).toHaveLength(1);
    expect(codes.filter((c) => c === 412)).toHaveLength(9);
  });

  it("a bad dtab PUT is 400 naming the parse error; the stored dtab is unchanged", async () => {
    const before = await (await fetch(`${api}/api/1/dtabs/default`)).text();
    const bad = await put("default", "/svc => /a; /b => ");
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/^invalid dtab: /);
    expect(await (await fetch(`${api}/api/1/dtabs/default`)).text()).toBe(before);
  });

  it("an etcd outage: serves the last state, reports unhealthy, refuses writes, recovers", async () => {
    const before = await (await fetch(`${api}/api/1/dtabs/default`)).text();
    expect((await fetch(`${admin}/admin/health`)).status).toBe(200);
    await etcd.stop();
    await until(async () => (await fetch(`${admin}/admin/health`)).status === 503, 15_000);
    const during = await fetch(`${api}/api/1/dtabs/default`);
    expect(during.status).toBe(200);
    expect(await during.text()).toBe(before);
    const write = await put("default", "/svc => /$/inet/127.0.0.1/99");
    expect(write.status).toBe(503);
    await etcd.start();
    await until(async () => (await fetch(`${admin}/admin/health`)).status === 200, 20_000);
    expect((await put("default", "/svc => /$/inet/127.0.0.1/100")).status).toBe(204);
    const after = await fetch(`${api}/api/1/dtabs/default`, {
      headers: { accept: "application/dtab" },
    });
    expect((await after.text()).trim()).toBe("/svc=>/$/inet/127.0.0.1/100");
  }, 60_000);
});
