/**
 * Client TLS (`client.tls`, issue #16 item 2) through real l5ds: linker-to-linker TLS (an
 * outgoing router originating TLS to an incoming router's TLS server, to a plaintext gRPC
 * backend), mutual TLS, a certificate that does not carry the `commonName` or comes from an
 * untrusted CA answered UNAVAILABLE naming the TLS error, `{service}` filled in from a static
 * prefix, and config errors naming the key. Certificates are made by openssl for the test.
 */
import { copyFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { useTestCerts } from "@l5d/h2-proxy/testing";
import { callGreeting, formatRpcError, startHelloWorldServer } from "@l5d/helloworld";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, startTestDaemon, type TestDaemon } from "./support.js";

const certs = useTestCerts();

const cleanup: Array<() => PromiseLike<unknown>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function started(yaml: string): Promise<TestDaemon> {
  const d = await startTestDaemon(yaml);
  cleanup.push(() => d[Symbol.asyncDispose]());
  return d;
}

/** world (plaintext) <- incoming (TLS server, `serverTls`) <- outgoing (client `clientTls`). */
async function twoHops(
  clientTls: string,
  serverTls = `{certPath: ${certs.serverCert}, keyPath: ${certs.serverKey}}`,
): Promise<{ outgoing: string; incoming: TestDaemon; outgoingD: TestDaemon }> {
  const w = await startHelloWorldServer({ addr: "127.0.0.1:0", text: "world" });
  cleanup.push(() => w.close());
  const incomingPort = await freePort();
  const incoming = await started(`
admin: {port: ${await freePort()}}
routers:
- protocol: h2
  label: incoming
  dtab: /svc => /$/inet/127.0.0.1/${w.port};
  servers:
  - port: ${incomingPort}
    tls: ${serverTls}
`);
  const outgoingD = await started(`
admin: {port: ${await freePort()}}
routers:
- protocol: h2
  label: outgoing
  dtab: /svc => /$/inet/127.0.0.1/${incomingPort};
  client: ${clientTls}
  servers:
  - port: ${await freePort()}
`);
  return { outgoing: outgoingD.addr("outgoing"), incoming, outgoingD };
}

describe("client TLS", () => {
  it("linker to linker over TLS: the outgoing router originates TLS to the incoming router's TLS server", async () => {
    const { outgoing, incoming } = await twoHops(
      `{tls: {commonName: localhost, trustCerts: [${certs.caCert}]}}`,
    );
    for (let i = 0; i < 3; i++)
      expect(await callGreeting(outgoing, { service: "World" })).toBe("world!");
    const m = await incoming.metrics();
    const port = incoming.addr("incoming").split(":")[1];
    expect(m[`rt/incoming/server/127.0.0.1/${port}/requests`]).toBe(3);
  });

  it("mutual TLS: the incoming server requires a client certificate; clientAuth presents one", async () => {
    const { outgoing } = await twoHops(
      `{tls: {commonName: localhost, trustCerts: [${certs.caCert}], clientAuth: {certPath: ${certs.clientCert}, keyPath: ${certs.clientKey}}}}`,
      `{certPath: ${certs.serverCert}, keyPath: ${certs.serverKey}, caCertPath: ${certs.caCert}, requireClientAuth: true}`,
    );
    expect(await callGreeting(outgoing, { service: "World" })).toBe("world!");
  });

  it("a certificate without the commonName, or from an untrusted CA: UNAVAILABLE naming the TLS error", async () => {
    const wrongName = await twoHops(
      `{tls: {commonName: other.example, trustCerts: [${certs.caCert}]}}`,
    );
    const e1 = formatRpcError(
      await callGreeting(wrongName.outgoing, { service: "World" }).catch((e: unknown) => e),
    );
    expect(e1).toMatch(
      /code = Unavailable .*TLS \(other\.example [0-9a-f]{8}\): .*(altnames|does not match)/i,
    );
    const untrusted = await twoHops(
      `{tls: {commonName: localhost, trustCerts: [${certs.otherCaCert}]}}`,
    );
    const e2 = formatRpcError(
      await callGreeting(untrusted.outgoing, { service: "World" }).catch((e: unknown) => e),
    );
    expect(e2).toMatch(
      /code = Unavailable .*TLS \(localhost [0-9a-f]{8}\): .*(self-signed|unable to (get|verify))/i,
    );
    // each failed handshake is counted on the outgoing router (and logged with the peer)
    const m = await untrusted.outgoingD.metrics();
    expect(m["rt/outgoing/tls/upstream_handshake_failures"]).toBeGreaterThanOrEqual(1);
  });

  it("io.l5d.static: commonName {service} is filled in from the client prefix", async () => {
    const { outgoing } = await twoHops(`
    kind: io.l5d.static
    configs:
    - prefix: /$/inet/{service}
      tls: {commonName: "{service}", trustCerts: [${certs.caCert}]}`);
    // the client id is /$/inet/127.0.0.1/<port>: {service} = 127.0.0.1, an IP SAN of the server
    expect(await callGreeting(outgoing, { service: "World" })).toBe("world!");
  });

  it("a missing CA file names the key and the daemon does not start", async () => {
    await expect(
      startTestDaemon(`
admin: {port: ${await freePort()}}
routers:
- protocol: h2
  label: out
  dtab: /svc => /$/inet/127.0.0.1/1;
  client: {tls: {commonName: x, trustCerts: [${certs.dir}/nope.pem]}}
  servers: [{port: ${await freePort()}}]
`),
    ).rejects.toThrow(
      /routers\[out\]\.client: tls\.trustCerts\[0\]: cannot read .*nope\.pem \(ENOENT\)/,
    );
  });

  it("rotation: a trust file replaced on disk is used by new upstream connections, no restart", async () => {
    const trust = join(certs.dir, "client-trust.pem");
    copyFileSync(certs.otherCaCert, trust);
    const { outgoing } = await twoHops(`{tls: {commonName: localhost, trustCerts: [${trust}]}}`);
    const first = formatRpcError(
      await callGreeting(outgoing, { service: "World" }).catch((e: unknown) => e),
    );
    expect(first).toMatch(/code = Unavailable .*TLS/);
    copyFileSync(certs.caCert, `${trust}.new`);
    renameSync(`${trust}.new`, trust);
    // the next connect (after the endpoint's connect backoff) trusts the new CA
    const t0 = Date.now();
    let answer: unknown;
    while (Date.now() - t0 < 10_000) {
      answer = await callGreeting(outgoing, { service: "World" }).catch((e: unknown) => e);
      if (answer === "world!") break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(answer).toBe("world!");
  });
});
