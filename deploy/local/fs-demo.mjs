// The local three-hop demo topology on loopback, with io.l5d.fs discovery: two "nodes",
// each one loopback address running an l5d (outgoing 4140, incoming 4141, admin 9990), node A
// also runs hello (7777) and node B runs world (7778). Used by `pnpm dev` and by the e2e test.
//
//   client → A:4140 outgoing → A:4141 incoming → hello → A:4140 outgoing → B:4141 incoming → world

export const NODE_A = "127.0.1.1";
export const NODE_B = "127.0.2.1";

/** The tutorial's dtab, with the io.l5d.fs namer in place of io.l5d.k8s. */
export const FS_DTAB = [
  "/srv        => /#/io.l5d.fs ;",
  "/grpc       => /srv ;",
  "/grpc/World => /srv/world-v1 ;",
  "/svc        => /$/io.buoyant.http.domainToPathPfx/grpc ;",
].join("\n");

export function nodeConfig({ ip, disco, ports = { outgoing: 4140, incoming: 4141, admin: 9990 } }) {
  const router = (label, port, transformer) =>
    [
      "- protocol: h2",
      `  label: ${label}`,
      "  experimental: true",
      "  identifier:",
      "    kind: io.l5d.header.path",
      "    segments: 1",
      "  dtab: |",
      ...FS_DTAB.split("\n").map((l) => `    ${l}`),
      "  interpreter:",
      "    kind: default",
      "    transformers:",
      ...transformer.map((l) => `    ${l}`),
      "  servers:",
      `  - port: ${port}`,
      `    ip: ${ip}`,
    ].join("\n");
  return [
    "admin:",
    `  ip: ${ip}`,
    `  port: ${ports.admin}`,
    "namers:",
    "- kind: io.l5d.fs",
    `  rootDir: ${disco}`,
    "routers:",
    // outgoing: send to the incoming router of the node that hosts the destination
    router("outgoing", ports.outgoing, ["- kind: io.l5d.port", `  port: ${ports.incoming}`]),
    // incoming: deliver only to instances on this node
    router("incoming", ports.incoming, ["- kind: io.l5d.specificHost", `  host: ${ip}`]),
    "telemetry:",
    "- kind: io.l5d.prometheus",
    "- kind: io.l5d.recentRequests",
    "  sampleRate: 1.0",
    "",
  ].join("\n");
}

/** io.l5d.fs files: one per service, `host port` lines. */
export function discoFiles({ hello = [[NODE_A, 7777]], world = [[NODE_B, 7778]] } = {}) {
  return {
    Hello: hello.map(([h, p]) => `${h} ${p}`).join("\n") + "\n",
    "world-v1": world.map(([h, p]) => `${h} ${p}`).join("\n") + "\n",
  };
}
