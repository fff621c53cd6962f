/**
 * `io.l5d.ingress` end to end: a real daemon whose identifier and k8s namer both talk to the API
 * stand-in, real gRPC servers and clients on loopback, the request's `:authority` choosing the
 * Ingress rule (tutorial (g.2)).
 */
import { createServer, request } from "node:http";
import { credentials } from "@grpc/grpc-js";
import { callGreeting, startHelloWorldServer } from "@l5d/helloworld";
import { type K8sObject, startStandin } from "@l5d/k8s-standin";
import { WorldClient } from "@l5d/proto";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, k8sBackend, startTestDaemon, type TestDaemon } from "./support.js";

const cleanup: Array<() => PromiseLike<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

function ingress(serviceName: string): K8sObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "hello-world", namespace: "default" },
    spec: {
      rules: [
        {
          host: "world.example",
          http: {
            paths: [
              {
                path: "/helloworld\\.World/.*",
                pathType: "ImplementationSpecific",
                backend: { service: { name: serviceName, port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  };
}

/** One `helloworld.World/Greeting` call with this `:authority`. */
async function greet(addr: string, authority: string): Promise<string> {
  const client = new WorldClient(addr, credentials.createInsecure(), {
    "grpc.default_authority": authority,
  });
  try {
    return await callGreeting(client, { service: "World", timeoutMs: 5000 });
  } finally {
    client.close();
  }
}

/** A daemon whose `ingress` router (h2 or http) routes by the API stand-in's Ingresses. */
async function ingressDaemon(protocol: "h2" | "http", apiPort: number): Promise<TestDaemon> {
  const [adminPort, port] = [await freePort(), await freePort()];
  return await startTestDaemon(`
admin: {port: ${adminPort}}
namers:
- kind: io.l5d.k8s
  host: 127.0.0.1
  port: ${apiPort}
routers:
- protocol: ${protocol}
  label: ingress
  identifier: {kind: io.l5d.ingress, host: 127.0.0.1, port: ${apiPort}}
  dtab: /svc => /#/io.l5d.k8s;
  servers: [{port: ${port}}]
`);
}

describe("io.l5d.ingress identifier in a daemon", () => {
  it("routes by the Ingress rule for the :authority and follows Ingress changes live", async () => {
    const world = await startHelloWorldServer({ addr: "127.0.0.1:0", text: "world" });
    cleanup.push(() => world.close());
    const earth = await startHelloWorldServer({ addr: "127.0.0.1:0", text: "earth" });
    cleanup.push(() => earth.close());
    const s = await startStandin({
      objects: [
        ...k8sBackend("world", world.port),
        ...k8sBackend("earth", earth.port),
        ingress("world"),
      ],
    });
    cleanup.push(() => s.close());

    const d = await ingressDaemon("h2", s.port);
    cleanup.push(() => d[Symbol.asyncDispose]());
    const addr = d.addr("ingress");

    // the identifier lists Ingresses at startup; allow it a bounded moment to sync
    let msg: string | Error = new Error("not called");
    for (let i = 0; i < 100; i++) {
      msg = await greet(addr, "world.example:4140").catch((e: Error) => e);
      if (msg === "world!") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(msg).toBe("world!");

    const wrongHost = await greet(addr, "nobody.example").catch((e: Error) => e);
    expect(wrongHost).toBeInstanceOf(Error);
    expect(String(wrongHost)).toContain("no ingress rule matches");

    const m = await d.metrics();
    expect(m["rt/ingress/service/svc/default/80/world/requests"]).toBeGreaterThanOrEqual(1);

    s.apply(ingress("earth"));
    for (let i = 0; i < 100 && msg !== "earth!"; i++) {
      msg = await greet(addr, "world.example").catch((e: Error) => e);
      if (msg !== "earth!") await new Promise((r) => setTimeout(r, 20));
    }
    expect(msg).toBe("earth!");

    s.delete("Ingress", "default", "hello-world");
    for (let i = 0; i < 100 && typeof msg === "string"; i++) {
      msg = await greet(addr, "world.example").catch((e: Error) => e);
      if (typeof msg === "string") await new Promise((r) => setTimeout(r, 20));
    }
    expect(String(msg)).toContain("no ingress rule matches");

    // shutdown closes the identifier's watch (and the namer's)
    expect(s.openWatches).toBeGreaterThan(0);
    await d[Symbol.asyncDispose]();
    for (let i = 0; i < 200 && s.openWatches > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(s.openWatches).toBe(0);
  });

  it("protocol: http: an ingress controller routing by Host and path (Linkerd's linkerd-ingress.yml)", async () => {
    const web = createServer((req, res) => res.end(`web ${req.url}`));
    await new Promise<void>((r) => web.listen(0, "127.0.0.1", r));
    cleanup.push(() => new Promise((r) => web.close(r)));
    const webPort = (web.address() as { port: number }).port;
    const s = await startStandin({
      objects: [
        ...k8sBackend("web", webPort, "http"),
        {
          apiVersion: "networking.k8s.io/v1",
          kind: "Ingress",
          metadata: { name: "web", namespace: "default" },
          spec: {
            rules: [
              {
                host: "shop.example",
                http: {
                  paths: [
                    {
                      path: "/cart",
                      pathType: "Prefix",
                      backend: { service: { name: "web", port: { name: "http" } } },
                    },
                  ],
                },
              },
            ],
          },
        },
      ],
    });
    cleanup.push(() => s.close());
    const d = await ingressDaemon("http", s.port);
    const port = Number(d.addr("ingress").split(":")[1]);
    cleanup.push(() => d[Symbol.asyncDispose]());
    const get = (host: string, path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, path, headers: { host } }, (res) => {
          let body = "";
          res.on("data", (c: Buffer) => {
            body += c.toString();
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("error", reject);
        req.end();
      });
    let r = { status: 0, body: "" };
    for (let i = 0; i < 100; i++) {
      r = await get("shop.example", "/cart/items?x=1");
      if (r.status === 200) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    expect(r).toEqual({ status: 200, body: "web /cart/items?x=1" });
    expect(
      (await d.metrics())["rt/ingress/service/svc/default/http/web/requests"],
    ).toBeGreaterThanOrEqual(1);
    const other = await get("shop.example", "/account");
    expect(other.status).toBe(400);
    expect(other.body).toContain("no ingress rule matches");
  });
});
