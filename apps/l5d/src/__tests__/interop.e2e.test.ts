/**
 * gRPC's interop matrix through l5d: one router (one hop), and an outgoing router in front of
 * an incoming router (the mesh's two hops), each a real daemon with its dtab, identifier,
 * binding, balancer, metrics and tracing in the path. Both data planes: the frame-level relay
 * (`dataPlane: relay`, the default) and node:http2 (`dataPlane: node`).
 */
import { defineInteropSuite } from "@l5d/h2-proxy/testing";
import { freePort, startTestDaemon, type TestDaemon } from "./support.js";

async function l5d(
  label: string,
  upstreamPort: number,
  dataPlane: "node" | "relay",
): Promise<TestDaemon> {
  const [admin, port] = [await freePort(), await freePort()];
  return startTestDaemon(`
admin: {port: ${admin}}
routers:
- protocol: h2
  label: ${label}
  identifier: {kind: io.l5d.header.path, segments: 1}
  dtab: /svc => /$/inet/127.0.0.1/${upstreamPort};
  servers: [{port: ${port}, dataPlane: ${dataPlane}}]
`);
}

function streams(daemons: readonly TestDaemon[]): number {
  let n = 0;
  for (const d of daemons)
    for (const r of d.d.linker.routers) for (const s of r.servers) n += s.proxy.streams;
  return n;
}

for (const [hops, dataPlane] of [
  [1, "node"],
  [2, "node"],
  [1, "relay"],
  [2, "relay"],
] as const) {
  const title = `gRPC interop through ${hops} l5d hop(s)${dataPlane === "relay" ? " (frame-level relay)" : ""}`;
  defineInteropSuite(title, async (backend) => {
    const daemons: TestDaemon[] = [];
    let next = backend.port;
    for (let i = hops; i >= 1; i--) {
      const d = await l5d(i === 1 ? "outgoing" : "incoming", next, dataPlane);
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
