import { relayForward } from "../dataplane/test-support.js";
import type { Address as Endpoint } from "../router/address.js";
import { defineInteropSuite } from "../testing/interop-suite.js";
import { type RelayServer, startRelayServer } from "./relay-server.js";

/** A relay forwarding every request to `to`, with one edit, as the router would. */
function relayTo(to: Endpoint): Promise<RelayServer> {
  return startRelayServer({
    host: "127.0.0.1",
    port: 0,
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
