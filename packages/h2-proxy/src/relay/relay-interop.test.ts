import * as grpc from "@grpc/grpc-js";
import { relayForward } from "../dataplane/test-support.js";
import type { Address as Endpoint } from "../router/address.js";
import { defineInteropSuite } from "../testing/interop-suite.js";
import { useTestCerts } from "../testing/tls-certs.js";
import { type RelayServer, startRelayServer } from "./relay-server.js";

/** A relay forwarding every request to `to`, with one edit, as the router would. */
function relayTo(to: Endpoint, tls?: { cert: Buffer; key: Buffer }): Promise<RelayServer> {
  return startRelayServer({
    host: "127.0.0.1",
    port: 0,
    tls,
    onRequest(req) {
      void relayForward(req, to, {
        set: { "l5d-dst-service": "/svc/interop" },
        remove: ["l5d-dtab"],
      });
    },
  });
}

for (const hops of [1, 2]) {
  defineInteropSuite(`gRPC interop through ${hops} frame-level relay hop(s)`, async (backend) => {
    const chain: RelayServer[] = [];
    let next: Endpoint = backend;
    for (let i = 0; i < hops; i++) {
      const r = await relayTo(next);
      chain.unshift(r);
      next = { host: "127.0.0.1", port: r.port };
    }
    return {
      port: (chain[0] as RelayServer).port,
      streams: () => chain.reduce((n, r) => n + r.streams, 0),
      close: async () => {
        for (const r of chain) await r.close();
      },
    };
  });
}

// the same cases over TLS: the client to the first hop, and between hops (server and client TLS,
// ALPN h2), to a plaintext backend
const certs = useTestCerts();
for (const hops of [1, 2]) {
  defineInteropSuite(`gRPC interop over TLS through ${hops} relay hop(s)`, async (backend) => {
    const serverTls = { cert: certs.read(certs.serverCert), key: certs.read(certs.serverKey) };
    const ca = certs.read(certs.caCert);
    const chain: RelayServer[] = [];
    let next: Endpoint = backend;
    for (let i = 0; i < hops; i++) {
      const r = await relayTo(next, serverTls);
      chain.unshift(r);
      next = {
        host: "127.0.0.1",
        port: r.port,
        tls: { id: "localhost", options: { ca, servername: "localhost" } },
      };
    }
    return {
      port: (chain[0] as RelayServer).port,
      streams: () => chain.reduce((n, r) => n + r.streams, 0),
      credentials: grpc.credentials.createSsl(ca),
      clientOptions: { "grpc.ssl_target_name_override": "localhost" },
      close: async () => {
        for (const r of chain) await r.close();
      },
    };
  });
}
