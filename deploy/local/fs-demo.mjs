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

/**
 * A node's config: admin on its IP, io.l5d.fs on `disco`, an outgoing router (to the incoming
 * router of the destination's node: io.l5d.port) and an incoming one (to this node's instances
 * only: io.l5d.specificHost), each made by `router(label, port, transformerLines)`.
 */
function demoConfig({ ip, disco, ports, router }) {
  const server = (port) => ["  servers:", `  - port: ${port}`, `    ip: ${ip}`];
  return [
    "admin:",
    `  ip: ${ip}`,
    `  port: ${ports.admin}`,
    "namers:",
    "- kind: io.l5d.fs",
    `  rootDir: ${disco}`,
    "routers:",
    ...router("outgoing", ["- kind: io.l5d.port", `  port: ${ports.incoming}`]),
    ...server(ports.outgoing),
    ...router("incoming", ["- kind: io.l5d.specificHost", `  host: ${ip}`]),
    ...server(ports.incoming),
    "telemetry:",
    "- kind: io.l5d.prometheus",
    "- kind: io.l5d.recentRequests",
    "  sampleRate: 1.0",
    "",
  ].join("\n");
}

/** A router's dtab and interpreter lines. */
function routing(dtab, transformer) {
  return [
    "  dtab: |",
    ...dtab.split("\n").map((l) => `    ${l}`),
    "  interpreter:",
    "    kind: default",
    "    transformers:",
    ...transformer.map((l) => `    ${l}`),
  ];
}

export function nodeConfig({ ip, disco, ports = { outgoing: 4140, incoming: 4141, admin: 9990 } }) {
  return demoConfig({
    ip,
    disco,
    ports,
    router: (label, transformer) => [
      "- protocol: h2",
      `  label: ${label}`,
      "  experimental: true",
      "  identifier:",
      "    kind: io.l5d.header.path",
      "    segments: 1",
      ...routing(FS_DTAB, transformer),
    ],
  });
}

/** io.l5d.fs files: one per service, `host port` lines. */
export function discoFiles({ hello = [[NODE_A, 7777]], world = [[NODE_B, 7778]] } = {}) {
  return {
    Hello: hello.map(([h, p]) => `${h} ${p}`).join("\n") + "\n",
    "world-v1": world.map(([h, p]) => `${h} ${p}`).join("\n") + "\n",
  };
}

/**
 * The series' HTTP/1.1 edition (k8s-daemonset/k8s/linkerd.yml): `protocol: http` routers, the
 * default identifier (`io.l5d.header.token` on Host), its dtab with io.l5d.fs in place of
 * io.l5d.k8s, and the outgoing router's `io.l5d.http.retryableRead5XX` classifier. The apps speak
 * HTTP: hello reaches `world` through `http_proxy=<node>:4140`.
 */
export const HTTP_DTAB = [
  "/srv         => /#/io.l5d.fs ;",
  "/host        => /srv ;",
  "/svc         => /host ;",
  "/host/world  => /srv/world-v1 ;",
].join("\n");

/**
 * `certs`: the TLS edition (linkerd-tls.yml): the outgoing router's client TLS (commonName
 * linkerd, trusting `<certs>/cacertificate.pem`) and the incoming router's server TLS.
 */
export function httpNodeConfig({
  ip,
  disco,
  certs,
  ports = { outgoing: 4140, incoming: 4141, admin: 9990 },
}) {
  const text = demoConfig({
    ip,
    disco,
    ports,
    router: (label, transformer) => [
      "- protocol: http",
      `  label: ${label}`,
      ...routing(HTTP_DTAB, transformer),
      ...(label === "outgoing"
        ? ["  service:", "    responseClassifier:", "      kind: io.l5d.http.retryableRead5XX"]
        : []),
      ...(label === "outgoing" && certs !== undefined
        ? [
            "  client:",
            "    tls:",
            "      commonName: linkerd",
            "      trustCerts:",
            `      - ${certs}/cacertificate.pem`,
          ]
        : []),
    ],
  });
  if (certs === undefined) return text;
  // the incoming router's server speaks TLS
  const incoming = `  - port: ${ports.incoming}\n    ip: ${ip}\n`;
  return text.replace(
    incoming,
    `${incoming}    tls:\n      certPath: ${certs}/certificate.pem\n      keyPath: ${certs}/key.pk8\n`,
  );
}

/** io.l5d.fs files of the HTTP edition: `hello` and `world-v1`. */
export function httpDiscoFiles({ hello = [[NODE_A, 7777]], world = [[NODE_B, 7778]] } = {}) {
  return {
    hello: hello.map(([h, p]) => `${h} ${p}`).join("\n") + "\n",
    "world-v1": world.map(([h, p]) => `${h} ${p}`).join("\n") + "\n",
  };
}
