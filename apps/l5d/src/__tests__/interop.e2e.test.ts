/**
 * gRPC's interop matrix through l5d: one router (one hop), and an outgoing router in front of
 * an incoming router (the mesh's two hops), each a real daemon with its dtab, identifier,
 * binding, balancer, metrics and tracing in the path (the frame-level relay, the only data
 * plane).
 */
import type { RelayServer } from "@l5d/h2-proxy";
import { defineInteropSuite } from "@l5d/h2-proxy/testing";
import { freePort, startTestDaemon, type TestDaemon } from "./support.js";

async function l5d(label: string, upstreamPort: number): Promise<TestDaemon> {
  const [admin, port] = [await freePort(), await freePort()];
  return startTestDaemon(`
admin: {port: ${admin}}
routers:
- protocol: h2
  label: ${label}
  identifier: {kind: io.l5d.header.path, segments: 1}
  dtab: /svc => /$/inet/127.0.0.1/${upstreamPort};
  servers: [{port: ${port}}]
`);
}

function streams(daemons: readonly TestDaemon[]): number {
  let n = 0;
  for (const d of daemons)
    for (const r of d.d.linker.routers)
      for (const s of r.servers) n += (s.proxy as RelayServer).streams;
  return n;
}

for (const hops of [1, 2]) {
  defineInteropSuite(`gRPC interop through ${hops} l5d hop(s)`, async (backend) => {
    const daemons: TestDaemon[] = [];
    let next = backend.port;
    for (let i = hops; i >= 1; i--) {
      const d = await l5d(i === 1 ? "outgoing" : "incoming", next);
      daemons.unshift(d);
      next = Number(d.addr(i === 1 ? "outgoing" : "incoming").split(":")[1]);
    }
    return {
      port: next,
      streams: () => streams(daemons),
      close: async () => {
        for (const d of daemons) await d[Symbol.asyncDispose]();
      },
    };
  });
}
