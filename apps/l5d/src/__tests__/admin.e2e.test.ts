/**
 * Every admin endpoint over real HTTP against an in-process daemon with real gRPC backends:
 * Linkerd's formats and behaviour, and the delegator agreeing with what the router does.
 */
import { connect } from "node:net";
import { formatConfigErrors, parseLinkerdConfig } from "@l5d/config";
import { Dtab, delegateTreeToJsonString, Path } from "@l5d/dtab";
import { callGreeting, startHelloWorldServer } from "@l5d/helloworld";
import { afterEach, describe, expect, it } from "vitest";
import { createRegistries } from "../plugins.js";
import { parsePrometheusText } from "../telemetry/prometheus-parse.testkit.js";
import { freePort, startTestDaemon, type TestDaemon } from "./support.js";

const cleanup: Array<() => PromiseLike<unknown>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function world(text: string) {
  const s = await startHelloWorldServer({ addr: "127.0.0.1:0", text });
  cleanup.push(() => s.close());
  return s;
}

async function daemon(dtab: string, telemetry = "", admin = ""): Promise<TestDaemon> {
  const d = await startTestDaemon(`
admin: {port: ${await freePort()}${admin}}
${telemetry}
routers:
- protocol: h2
  label: outgoing
  identifier: {kind: io.l5d.header.path, segments: 1}
  dtab: ${dtab}
  servers: [{port: ${await freePort()}}]
`);
  cleanup.push(async () => {
    await d[Symbol.asyncDispose]();
  });
  return d;
}

async function get(d: TestDaemon, path: string, init?: RequestInit) {
  const res = await fetch(`${d.adminUrl}${path}`, init);
  return {
    status: res.status,
    type: res.headers.get("content-type") ?? "",
    body: await res.text(),
  };
}

describe("admin endpoints", () => {
  it("binds 127.0.0.1 by default; /admin/ping answers pong; /admin and /admin/index.txt list the endpoints", async () => {
    const d = await daemon("/svc => /$/nil;");
    expect(d.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(d.d.linker.config.admin.ip).toBe("127.0.0.1");
    expect(await get(d, "/admin/ping")).toMatchObject({ status: 200, body: "pong" });
    const index = await get(d, "/admin");
    for (const p of [
      "/admin/metrics.json",
      "/delegator.json",
      "/delegator",
      "/config.json",
      "/bound-names.json",
      "/admin/shutdown",
      "/admin/ping",
    ]) {
      expect(index.body).toContain(p);
    }
    expect((await get(d, "/admin/index.txt")).body).toBe(index.body);
    expect((await get(d, "/no/such/thing")).status).toBe(404);
  });

  it("admin.ip 0.0.0.0 listens on every interface (as the tutorial config)", async () => {
    const d = await daemon("/svc => /$/nil;", "", ", ip: 0.0.0.0");
    const port = d.d.adminPort;
    const res = await fetch(`http://127.0.0.1:${port}/admin/ping`);
    expect(await res.text()).toBe("pong");
  });

  it("/config.json is the effective config with defaults", async () => {
    const d = await daemon("/svc => /$/nil;");
    const cfg = JSON.parse((await get(d, "/config.json")).body) as {
      routers: Array<{ label: string; dstPrefix: string }>;
      admin: { ip: string };
    };
    expect(cfg.routers[0]).toMatchObject({ label: "outgoing", dstPrefix: "/svc" });
    expect(cfg.admin.ip).toBe("127.0.0.1");
    expect((await get(d, "/config.json?pretty=1")).body).toContain('\n  "');
  });

  it("/admin/metrics.json: flat Linkerd names with histogram stats; ?q= subtree; ?tree=1; ?pretty=1", async () => {
    const w = await world("world");
    const d = await daemon(`/svc => /$/inet/127.0.0.1/${w.port};`);
    await callGreeting(d.addr("outgoing"), { service: "World" });
    const port = d.addr("outgoing").split(":")[1];
    const flat = JSON.parse((await get(d, "/admin/metrics.json")).body) as Record<string, number>;
    const srv = `rt/outgoing/server/127.0.0.1/${port}`;
    expect(flat[`${srv}/requests`]).toBe(1);
    expect(flat[`${srv}/success`]).toBe(1);
    for (const k of [
      "count",
      "sum",
      "avg",
      "min",
      "max",
      "p50",
      "p90",
      "p95",
      "p99",
      "p9990",
      "p9999",
    ]) {
      expect(typeof flat[`${srv}/request_latency_ms.${k}`], k).toBe("number");
    }
    expect(flat["rt/outgoing/service/svc/helloworld.World/requests"]).toBe(1);
    expect(flat[`rt/outgoing/client/$/inet/127.0.0.1/${w.port}/requests`]).toBe(1);

    // Linkerd: q is a scope path; names are relative to it
    const sub = JSON.parse(
      (await get(d, `/admin/metrics.json?q=rt/outgoing/service`)).body,
    ) as Record<string, number>;
    expect(sub["svc/helloworld.World/requests"]).toBe(1);
    expect(Object.keys(sub).every((k) => k.startsWith("svc/"))).toBe(true);
    expect(JSON.parse((await get(d, "/admin/metrics.json?q=nope")).body)).toEqual({});

    const tree = JSON.parse((await get(d, "/admin/metrics.json?tree=1")).body) as {
      rt: {
        outgoing: {
          server: Record<
            string,
            Record<
              string,
              { requests: { counter: number }; request_latency_ms: Record<string, number> }
            >
          >;
        };
      };
    };
    const node = tree.rt.outgoing.server["127.0.0.1"]![port!]!;
    expect(node.requests).toEqual({ counter: 1 });
    expect(node.request_latency_ms["stat.count"]).toBe(1);
    expect(typeof node.request_latency_ms["stat.p99"]).toBe("number");

    const pretty = await get(d, "/admin/metrics.json?pretty=1");
    expect(pretty.type).toContain("application/json");
    const keys = Object.keys(JSON.parse(pretty.body) as object);
    expect(keys).toEqual([...keys].sort());
    expect(pretty.body).toContain("\n  ");
  });

  it("/admin/metrics/prometheus (with io.l5d.prometheus) parses as Prometheus text with rt/server/service/client labels", async () => {
    const w = await world("world");
    const d = await daemon(
      `/svc => /$/inet/127.0.0.1/${w.port};`,
      "telemetry:\n- kind: io.l5d.prometheus\n",
    );
    await callGreeting(d.addr("outgoing"), { service: "World" });
    const r = await get(d, "/admin/metrics/prometheus");
    expect(r.status).toBe(200);
    expect(r.type).toContain("text/plain; version=0.0.4");
    const fams = parsePrometheusText(r.body);
    const port = d.addr("outgoing").split(":")[1];
    expect(fams.get("rt:server:requests")?.samples).toContainEqual({
      name: "rt:server:requests",
      labels: { rt: "outgoing", server: `127.0.0.1/${port}` },
      value: 1,
    });
    expect(fams.get("rt:service:requests")?.samples[0]?.labels).toEqual({
      rt: "outgoing",
      service: "svc/helloworld.World",
    });
    expect(fams.get("rt:client:requests")?.samples[0]?.labels).toEqual({
      rt: "outgoing",
      client: `$/inet/127.0.0.1/${w.port}`,
    });
    expect(fams.get("rt:client:request_latency_ms")?.type).toBe("summary");
    // without the telemeter the endpoint does not exist
    const plain = await daemon("/svc => /$/nil;");
    expect((await get(plain, "/admin/metrics/prometheus")).status).toBe(404);
  });

  it("/delegator.json answers as Linkerd (GET and POST, exact text), marks routed branches only when asked, and errors as Linkerd", async () => {
    const d = await daemon("/svc => /$/inet/127.1/8080;");
    const path = "/svc/foo";
    const expected =
      '{"type":"delegate","path":"/svc/foo","delegate":{"type":"leaf","path":"/$/inet/127.1/8080/foo","dentry":{"prefix":"/svc","dst":"/$/inet/127.1/8080"},' +
      '"bound":{"addr":{"type":"bound","addrs":[{"ip":"127.0.0.1","port":8080,"meta":{}}],"meta":{}},"id":"/$/inet/127.1/8080","path":"/foo"}}}';
    const r = await get(d, `/delegator.json?namespace=outgoing&path=${encodeURIComponent(path)}`);
    expect(r).toMatchObject({ status: 200, body: expected });
    expect(r.type).toContain("application/json");
    const interp = d.d.linker.routers[0]!.router.interpreter;
    expect(r.body).toBe(
      delegateTreeToJsonString(
        await interp.delegate!(Dtab.read("/svc => /$/inet/127.1/8080;"), Path.read(path)),
      ),
    );
    const post = await get(d, "/delegator.json", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ namespace: "outgoing", path, dtab: "/svc => /$/inet/127.1/8080;" }),
    });
    expect(post.body).toBe(expected);
    const sel = JSON.parse(
      (await get(d, `/delegator.json?namespace=outgoing&path=${path}&selected=true`)).body,
    ) as { selected?: boolean; delegate: { selected?: boolean } };
    expect(sel.selected).toBe(true);
    expect(sel.delegate.selected).toBe(true);
    expect(r.body).not.toContain("selected");

    expect(
      (
        await get(d, "/delegator.json", {
          method: "POST",
          headers: { "content-type": "text/plain" },
          body: "{}",
        })
      ).status,
    ).toBe(415);
    const bad = await get(d, "/delegator.json", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{nope",
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toContain("Malformed delegation request");
    expect((await get(d, "/delegator.json?namespace=nope&path=/svc/x")).status).toBe(404);
    expect(
      (
        await get(
          d,
          `/delegator.json?namespace=outgoing&path=/svc/x&dtab=${encodeURIComponent("/a => {")}`,
        )
      ).status,
    ).toBe(400);
  });

  it("the delegator's selected branch is where a request with the same path and extra dtab really goes", async () => {
    const w1 = await world("world-one");
    const w2 = await world("world-two");
    const w3 = await world("world-three");
    const base = `/svc => /$/inet/127.0.0.1/${w1.port}; /svc/helloworld.World => /#/nowhere | /$/inet/127.0.0.1/${w2.port};`;
    const d = await daemon(
      `"${base}"`,
      "telemetry:\n- kind: io.l5d.recentRequests\n  sampleRate: 1.0\n",
    );
    const cases: Array<{ extra: string; text: string; port: number }> = [
      { extra: "", text: "world-two", port: w2.port },
      {
        extra: `/svc/helloworld.World => /$/inet/127.0.0.1/${w3.port};`,
        text: "world-three",
        port: w3.port,
      },
      {
        extra: `/svc/helloworld.World => /svc/helloworld.Other; /svc/helloworld.Other => ~;`,
        text: "world-one",
        port: w1.port,
      },
    ];
    for (const c of cases) {
      const dtab = c.extra ? `${base}${c.extra}` : base;
      const tree = JSON.parse(
        (
          await get(
            d,
            `/delegator.json?namespace=outgoing&path=/svc/helloworld.World&selected=true&dtab=${encodeURIComponent(dtab)}`,
          )
        ).body,
      );
      const leaves: string[] = [];
      const walk = (t: Record<string, unknown> | undefined): void => {
        if (!t?.selected) return;
        if (t.type === "leaf") leaves.push((t.bound as { id: string }).id);
        for (const k of ["delegate", "tree"]) walk(t[k] as Record<string, unknown> | undefined);
        for (const a of (t.alt as Record<string, unknown>[] | undefined) ?? []) walk(a);
        for (const u of (t.union as Array<{ tree: Record<string, unknown> }> | undefined) ?? [])
          walk(u.tree);
      };
      walk(tree);
      expect(leaves, c.extra).toEqual([`/$/inet/127.0.0.1/${c.port}`]);
      const msg = await callGreeting(d.addr("outgoing"), {
        service: "World",
        ...(c.extra ? { metadata: { "l5d-dtab": c.extra } } : {}),
      });
      expect(msg).toBe(`${c.text}!`);
      const recent = JSON.parse((await get(d, "/requests.json")).body) as Array<{
        endpoint: string;
      }>;
      expect(recent[0]!.endpoint).toBe(`127.0.0.1:${c.port}`);
    }
    // /bound-names.json lists the clients routing made
    const bound = JSON.parse((await get(d, "/bound-names.json")).body) as string[];
    expect(bound).toEqual(
      [
        `/$/inet/127.0.0.1/${w1.port}`,
        `/$/inet/127.0.0.1/${w2.port}`,
        `/$/inet/127.0.0.1/${w3.port}`,
      ].sort(),
    );
    // /requests (HTML) shows them too
    const page = await get(d, "/requests");
    expect(page.type).toContain("text/html");
    expect(page.body).toContain(`127.0.0.1:${w3.port}`);
    const routers = JSON.parse((await get(d, "/routers.json")).body) as Array<{
      label: string;
      dtab: string;
    }>;
    expect(routers[0]).toMatchObject({ label: "outgoing", dtab: Dtab.read(base).show });
  });

  it("serves the dashboard, the dtab playground and their static files", async () => {
    const d = await daemon("/svc => /$/nil;");
    const home = await get(d, "/");
    expect(home.type).toContain("text/html");
    expect(home.body).toContain("/files/dashboard.js");
    const pg = await get(d, "/delegator");
    expect(pg.type).toContain("text/html");
    expect(pg.body).toContain("/files/delegator.js");
    const js = await get(d, "/files/dashboard.js");
    expect(js.type).toContain("text/javascript");
    expect(js.body).toContain("/admin/metrics.json");
    expect((await get(d, "/files/common.css")).type).toContain("text/css");
    expect((await get(d, "/files/nope.js")).status).toBe(404);
    // offline: no page references anything outside the admin server
    for (const b of [home.body, pg.body, js.body, (await get(d, "/files/delegator.js")).body])
      expect(b).not.toMatch(/(src|href)=["']?https?:/);
  });

  it("/admin/shutdown: GET is refused, POST drains and stops the daemon", async () => {
    const d = await daemon("/svc => /$/nil;");
    expect((await get(d, "/admin/shutdown")).status).toBe(405);
    const r = await get(d, "/admin/shutdown", { method: "POST" });
    expect(r.status).toBe(200);
    await d.d.done;
    const [host, port] = d.addr("outgoing").split(":");
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect(Number(port), host!);
      s.once("connect", () => {
        s.destroy();
        resolve(false);
      });
      s.once("error", () => resolve(true));
    });
    expect(refused).toBe(true);
    await expect(fetch(`${d.adminUrl}/admin/ping`)).rejects.toThrow();
  });

  it("admin.security: categories off answer 404, the whitelist serves, the blacklist refuses (Linkerd's filter)", async () => {
    const d = await daemon(
      "/svc => /$/nil;",
      "",
      `, security: {uiEnabled: false, controlEnabled: false, pathWhitelist: ["/config[.]json"], pathBlacklist: ["/admin/ping", "/routers[.]json"]}`,
    );
    // UI off: the dashboard and the delegator are gone, /config.json is whitelisted
    expect((await get(d, "/")).status).toBe(404);
    expect((await get(d, "/delegator")).status).toBe(404);
    expect((await get(d, "/admin/metrics.json")).status).toBe(404);
    expect((await get(d, "/config.json")).status).toBe(200);
    // diagnostics on, less the blacklist
    expect((await get(d, "/admin")).status).toBe(200);
    expect((await get(d, "/bound-names.json")).status).toBe(200);
    expect((await get(d, "/admin/ping")).status).toBe(404);
    expect((await get(d, "/routers.json")).status).toBe(404);
    // control off: shutdown is refused and the daemon keeps serving
    expect((await get(d, "/admin/shutdown", { method: "POST" })).status).toBe(404);
    expect((await get(d, "/admin")).status).toBe(200);
  });

  it("a bad admin.security regex names the key (the config is refused)", () => {
    const r = parseLinkerdConfig(
      `
admin: {security: {pathWhitelist: ["/admin/(ping"]}}
routers:
- protocol: h2
  dtab: /svc => /$/nil;
  servers: [{port: 4142}]
`,
      createRegistries(),
    );
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(formatConfigErrors(r.errors)).toMatch(
        /admin\.security\.pathWhitelist\[0\]: invalid regular expression/,
      );
  });

  it("/admin/shutdown from another origin (a web page's simple POST) is refused 403; the daemon keeps serving", async () => {
    const d = await daemon("/svc => /$/nil;");
    const evil = await get(d, "/admin/shutdown", {
      method: "POST",
      headers: { origin: "http://evil.example", "content-type": "text/plain" },
      body: "x",
    });
    expect(evil.status).toBe(403);
    expect(evil.body).toMatch(/another origin \(http:\/\/evil\.example\)/);
    const site = await get(d, "/admin/shutdown", {
      method: "POST",
      headers: { "sec-fetch-site": "cross-site" },
    });
    expect(site.status).toBe(403);
    expect((await get(d, "/admin/ping")).body).toBe("pong");
    // the dashboard's own origin (same host) may still shut it down
    const host = new URL(d.adminUrl).host;
    const own = await get(d, "/admin/shutdown", {
      method: "POST",
      headers: { origin: `http://${host}`, "sec-fetch-site": "same-origin" },
    });
    expect(own.status).toBe(200);
    await d.d.done;
  });

  it("/config.json leaves secrets out: telemeter headers, secret-named keys, URL credentials", async () => {
    const d = await daemon(
      "/svc => /$/nil;",
      `telemetry:
- kind: io.l5d.otlp
  endpoint: http://user:hunter2@127.0.0.1:1/v1/traces
  headers: {authorization: "Bearer hunter2", x-honeycomb-team: hunter2}`,
    );
    const r = await get(d, "/config.json");
    expect(r.status).toBe(200);
    expect(r.body).not.toContain("hunter2");
    const cfg = JSON.parse(r.body) as { telemetry: Array<Record<string, unknown>> };
    const otlp = cfg.telemetry.find((t) => t.kind === "io.l5d.otlp");
    expect(otlp?.headers).toEqual({
      authorization: "<redacted>",
      "x-honeycomb-team": "<redacted>",
    });
    expect(otlp?.endpoint).toBe("http://<redacted>@127.0.0.1:1/v1/traces");
  });
});
