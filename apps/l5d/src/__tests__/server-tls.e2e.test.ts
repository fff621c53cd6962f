/**
 * Server TLS (`servers[].tls`, issue #16 item 1) through a real l5d: HTTP/2 over TLS with ALPN
 * h2 to a plaintext gRPC backend, a client without h2 refused at the handshake (counted and
 * logged), mutual TLS accepted and refused, a PKCS#8 DER key, and config errors naming the key.
 * Certificates are made by openssl for the test.
 */
import { X509Certificate } from "node:crypto";
import { copyFileSync, renameSync, writeFileSync } from "node:fs";
import { connect as h2connect } from "node:http2";
import { get as httpsGet } from "node:https";
import { join } from "node:path";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";
import { useTestCerts } from "@l5d/h2-proxy/testing";
import { startHelloWorldServer } from "@l5d/helloworld";
import { afterEach, describe, expect, it } from "vitest";
import { EMPTY_GRPC_FRAME, freePort, startTestDaemon, type TestDaemon } from "./support.js";

const certs = useTestCerts();

const cleanup: Array<() => PromiseLike<unknown>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function daemon(tls: string): Promise<TestDaemon> {
  const w = await startHelloWorldServer({ addr: "127.0.0.1:0", text: "world" });
  cleanup.push(() => w.close());
  const d = await startTestDaemon(`
admin: {port: ${await freePort()}}
routers:
- protocol: h2
  label: tls
  dtab: /svc => /$/inet/127.0.0.1/${w.port};
  servers:
  - port: ${await freePort()}
    tls: ${tls}
`);
  cleanup.push(() => d[Symbol.asyncDispose]());
  return d;
}

/** One gRPC Greeting call over TLS; its grpc-status and the message bytes received. */
function greet(
  addr: string,
  tls: { ca: Buffer; cert?: Buffer; key?: Buffer },
): Promise<{ status: string | undefined; bytes: number; alpn: string | false | undefined }> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`https://${addr}`, { ...tls, servername: "localhost" });
    session.on("error", reject);
    const req = session.request({
      ":method": "POST",
      ":path": "/helloworld.World/Greeting",
      "content-type": "application/grpc",
      te: "trailers",
    });
    let status: string | undefined;
    let bytes = 0;
    req.on("trailers", (t) => {
      status = t["grpc-status"] as string | undefined;
    });
    req.on("response", (h) => {
      if (h["grpc-status"] !== undefined) status = String(h["grpc-status"]);
    });
    req.on("data", (c: Buffer) => {
      bytes += c.length;
    });
    req.on("error", reject);
    req.on("close", () => {
      const alpn = (session.socket as unknown as { alpnProtocol?: string | false }).alpnProtocol;
      session.close();
      resolve({ status, bytes, alpn });
    });
    req.end(EMPTY_GRPC_FRAME);
  });
}

/** A raw TLS handshake; resolves with its error message, or "ok" and the ALPN protocol chosen. */
function handshake(addr: string, opts: ConnectionOptions): Promise<string> {
  const [host, port] = addr.split(":");
  return new Promise((resolve) => {
    const s = tlsConnect({ host, port: Number(port), servername: "localhost", ...opts });
    s.once("secureConnect", () => {
      const alpn = s.alpnProtocol;
      // a server that requires a client certificate refuses it after the handshake (TLS 1.3)
      s.once("data", () => {});
      s.once("error", (e) => resolve(`error after handshake: ${e.message}`));
      s.once("close", () => resolve(`ok ${alpn}`));
      setTimeout(() => {
        s.destroy();
        resolve(`ok ${alpn}`);
      }, 300);
    });
    s.once("error", (e) => resolve(`error: ${e.message}`));
  });
}

describe("server TLS", () => {
  it("serves HTTP/2 over TLS with ALPN h2 to a plaintext gRPC backend", async () => {
    const d = await daemon(`{certPath: ${certs.serverCert}, keyPath: ${certs.serverKey}}`);
    const r = await greet(d.addr("tls"), { ca: certs.read(certs.caCert) });
    expect(r).toEqual({ status: "0", bytes: expect.any(Number), alpn: "h2" });
    expect(r.bytes).toBeGreaterThan(5);
    // the certificate checks out against our CA, not another one
    expect(
      await handshake(d.addr("tls"), { ca: certs.read(certs.otherCaCert), ALPNProtocols: ["h2"] }),
    ).toMatch(/^error: .*(self-signed|unable to (get|verify))/i);
  });

  it("a client that does not offer h2 fails the handshake, counted and logged; plaintext h2c is refused", async () => {
    const d = await daemon(`{certPath: ${certs.serverCert}, keyPath: ${certs.serverKey}}`);
    const addr = d.addr("tls");
    expect(
      await handshake(addr, { ca: certs.read(certs.caCert), ALPNProtocols: ["http/1.1"] }),
    ).toMatch(/^error: .*no application protocol/i);
    const m = await d.metrics();
    const port = addr.split(":")[1];
    expect(m[`rt/tls/server/127.0.0.1/${port}/tls/handshake_failures`]).toBe(1);
    // a cleartext HTTP/2 client gets no HTTP/2 from a TLS port: its request fails
    const cleartext = await new Promise<string>((resolve) => {
      const s = h2connect(`http://${addr}`);
      s.on("error", (e) => resolve(`error: ${e.message}`));
      const req = s.request({ ":path": "/" });
      req.on("response", () => resolve("answered"));
      req.on("error", (e) => resolve(`error: ${e.message}`));
      req.on("close", () => resolve("closed"));
      req.end();
      setTimeout(() => {
        s.destroy();
        resolve("timeout");
      }, 3_000);
    });
    expect(cleartext).not.toBe("answered");
  });

  it("requireClientAuth: a client certificate signed by caCertPath is served, none is refused", async () => {
    const d = await daemon(
      `{certPath: ${certs.serverCert}, keyPath: ${certs.serverKey}, caCertPath: ${certs.caCert}, requireClientAuth: true}`,
    );
    const addr = d.addr("tls");
    const ok = await greet(addr, {
      ca: certs.read(certs.caCert),
      cert: certs.read(certs.clientCert),
      key: certs.read(certs.clientKey),
    });
    expect(ok.status).toBe("0");
    const refused = await greet(addr, { ca: certs.read(certs.caCert) }).catch(
      (e: Error) => `error: ${e.message}`,
    );
    expect(String(refused)).toMatch(
      /error: .*certificate required|error: .*alert|socket hang up|ECONNRESET/i,
    );
  });

  it("a PKCS#8 DER key (Linkerd's .pk8) works", async () => {
    const d = await daemon(`{certPath: ${certs.serverCert}, keyPath: ${certs.serverKeyDer}}`);
    expect((await greet(d.addr("tls"), { ca: certs.read(certs.caCert) })).status).toBe("0");
  });

  it("config errors name the key and the daemon does not start", async () => {
    await expect(
      daemon(`{certPath: ${certs.dir}/missing.crt, keyPath: ${certs.serverKey}}`),
    ).rejects.toThrow(/tls\.certPath: cannot read .*missing\.crt \(ENOENT\)/);
    await expect(
      daemon(`{certPath: ${certs.serverCert}, keyPath: ${certs.clientKey}}`),
    ).rejects.toThrow(/tls\.keyPath: .*client\.key does not match the certificate/);
    await expect(
      daemon(`{certPath: ${certs.serverKey}, keyPath: ${certs.serverKey}}`),
    ).rejects.toThrow(/tls\.certPath: .*is not a PEM certificate/);
    await expect(
      daemon(
        `{certPath: ${certs.serverCert}, keyPath: ${certs.serverKey}, requireClientAuth: true}`,
      ),
    ).rejects.toThrow(/tls\.requireClientAuth: needs caCertPath/);
  });

  it("rotation: new certificate files are picked up without a restart and with no failed request; a bad file keeps the old ones", async () => {
    // the daemon reads copies the test replaces, as a Secret update does
    const cert = join(certs.dir, "live.crt");
    const key = join(certs.dir, "live.key");
    copyFileSync(certs.serverCert, cert);
    copyFileSync(certs.serverKey, key);
    const d = await daemon(`{certPath: ${cert}, keyPath: ${key}}`);
    const addr = d.addr("tls");
    const fingerprint = (path: string) => new X509Certificate(certs.read(path)).fingerprint256;
    const served = async (): Promise<string> => {
      const [host, port] = addr.split(":");
      return new Promise((resolve, reject) => {
        const s = tlsConnect({
          host,
          port: Number(port),
          servername: "localhost",
          ca: certs.read(certs.caCert),
          ALPNProtocols: ["h2"],
        });
        s.once("secureConnect", () => {
          const f = s.getPeerCertificate().fingerprint256;
          s.destroy();
          resolve(f);
        });
        s.once("error", reject);
      });
    };
    expect(await served()).toBe(fingerprint(certs.serverCert));
    // load: a new TLS connection per call, one at a time, for the whole rotation (bounded)
    let running = true;
    const results: string[] = [];
    const load = (async () => {
      while (running && results.length < 2_000) {
        const r = await greet(addr, { ca: certs.read(certs.caCert) }).catch((e: Error) => ({
          status: `error ${e.message}`,
        }));
        results.push(String(r.status));
      }
    })();
    try {
      // replaced atomically, key first (renames), as kubelet swaps a Secret's files
      copyFileSync(certs.server2Key, `${key}.new`);
      copyFileSync(certs.server2Cert, `${cert}.new`);
      renameSync(`${key}.new`, key);
      renameSync(`${cert}.new`, cert);
      const want = fingerprint(certs.server2Cert);
      const t0 = Date.now();
      while ((await served()) !== want) {
        expect(Date.now() - t0).toBeLessThan(10_000);
        await new Promise((r) => setTimeout(r, 100));
      }
      // a bad file: the new credentials stay
      writeFileSync(cert, "not a certificate");
      await new Promise((r) => setTimeout(r, 2_500));
      expect(await served()).toBe(want);
    } finally {
      running = false;
      await load;
    }
    console.log(`rotation under load: ${results.length} calls, each on a new TLS connection`);
    expect(results.length).toBeGreaterThan(10);
    expect(results.filter((r) => r !== "0")).toEqual([]);
  });

  it("admin.tls: the admin port serves HTTPS", async () => {
    const adminPort = await freePort();
    const d = await startTestDaemon(`
admin: {port: ${adminPort}, tls: {certPath: ${certs.serverCert}, keyPath: ${certs.serverKey}}}
routers:
- protocol: h2
  dtab: /svc => /$/nil;
  servers: [{port: ${await freePort()}}]
`);
    cleanup.push(() => d[Symbol.asyncDispose]());
    const body = await new Promise<string>((resolve, reject) => {
      httpsGet(
        {
          host: "127.0.0.1",
          port: adminPort,
          path: "/admin/ping",
          ca: certs.read(certs.caCert),
          servername: "localhost",
        },
        (res) => {
          let b = "";
          res.on("data", (c: Buffer) => {
            b += c.toString();
          });
          res.on("end", () => resolve(b));
        },
      ).on("error", reject);
    });
    expect(body).toBe("pong");
  });
});
