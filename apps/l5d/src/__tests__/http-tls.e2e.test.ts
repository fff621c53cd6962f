/**
 * TLS on `protocol: http` routers: HTTPS clients to l5d (`servers[].tls`, ALPN http/1.1) and
 * l5d to HTTPS endpoints (`client.tls`, with `commonName` checked), certificates made by openssl.
 */
import { createServer as createHttpsServer, request as httpsRequest } from "node:https";
import { useTestCerts } from "@l5d/h2-proxy/testing";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, startTestDaemon } from "./support.js";

const certs = useTestCerts();
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function get(
  port: number,
  host: string,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        path: "/",
        headers: { host },
        ca: certs.read(certs.caCert),
        servername: "localhost",
        agent: false,
      },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => {
          body += c.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("protocol: http over TLS", () => {
  it("serves HTTPS clients and reaches an HTTPS endpoint whose certificate names commonName", async () => {
    const seen: string[] = [];
    const backend = createHttpsServer(
      { cert: certs.read(certs.serverCert), key: certs.read(certs.serverKey) },
      (req, res) => {
        seen.push(
          `${req.headers["l5d-dst-service"]} ${(req.socket as { encrypted?: boolean }).encrypted === true}`,
        );
        res.end("secure");
      },
    );
    await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise((r) => backend.close(r)));
    cleanups.push(() => backend.closeAllConnections());
    const bport = (backend.address() as { port: number }).port;
    const port = await freePort();
    const d = await startTestDaemon(`admin: {port: ${await freePort()}}
routers:
- protocol: http
  dtab: |
    /svc/web => /$/inet/127.0.0.1/${bport};
    /svc/wrong => /$/inet/127.0.0.1/${bport};
  client:
    kind: io.l5d.static
    configs:
    - prefix: /$/inet/127.0.0.1/${bport}
      tls:
        commonName: localhost
        trustCerts: [${certs.caCert}]
  servers:
  - port: ${port}
    tls:
      certPath: ${certs.serverCert}
      keyPath: ${certs.serverKeyDer}
`);
    cleanups.push(() => d[Symbol.asyncDispose]());
    const r = await get(port, "web");
    expect(r.status).toBe(200);
    expect(r.body).toBe("secure");
    expect(seen).toEqual(["/svc/web true"]);
  });

  it("an endpoint whose certificate does not name commonName is never sent the request: 502 naming why", async () => {
    let reached = 0;
    const backend = createHttpsServer(
      { cert: certs.read(certs.serverCert), key: certs.read(certs.serverKey) },
      (_req, res) => {
        reached++;
        res.end("x");
      },
    );
    await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise((r) => backend.close(r)));
    const bport = (backend.address() as { port: number }).port;
    const port = await freePort();
    const d = await startTestDaemon(`admin: {port: ${await freePort()}}
routers:
- protocol: http
  dtab: /svc/web => /$/inet/127.0.0.1/${bport};
  client:
    tls:
      commonName: other.example
      trustCerts: [${certs.caCert}]
  servers:
  - port: ${port}
`);
    cleanups.push(() => d[Symbol.asyncDispose]());
    const r = await new Promise<{ status: number; err: string }>((resolve, reject) => {
      import("node:http").then(({ request }) => {
        const req = request({ host: "127.0.0.1", port, headers: { host: "web" } }, (res) => {
          res.resume();
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, err: String(res.headers["l5d-err"] ?? "") }),
          );
        });
        req.on("error", reject);
        req.end();
      }, reject);
    });
    expect(r.status).toBe(502);
    expect(decodeURIComponent(r.err.replace(/\+/g, " "))).toMatch(/other\.example|altnames/);
    expect(reached).toBe(0);
    expect((await d.metrics())["rt/http/tls/upstream_handshake_failures"]).toBeGreaterThanOrEqual(
      1,
    );
  });
});
