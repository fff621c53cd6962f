// The local three-hop demo topology on loopback, with io.l5d.fs discovery: two "nodes",
// each one loopback address running an l5d (outgoing 4140, incoming 4141, admin 9990), node A
// also runs hello (7777) and node B runs world (7778). Used by `pnpm dev` and by the e2e test.
//
//   client → A:4140 outgoing → A:4141 incoming → hello → A:4140 outgoing → B:4141 incoming → world
//
// `pnpm dev --namerd` moves the dtab and the io.l5d.fs namer into a namerd on a third address
// (NAMERD: HTTP API 4180, admin 9991); the l5ds' routers then bind through it
// (io.l5d.namerd.http) with the same transformers.

export const NODE_A = "127.0.1.1";
export const NODE_B = "127.0.2.1";
export const NAMERD = "127.0.3.1";

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
    // no namers when namerd binds the names (`disco` undefined)
    ...(disco === undefined ? [] : ["namers:", "- kind: io.l5d.fs", `  rootDir: ${disco}`]),
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

/**
 * A router's dtab and interpreter lines; with `namerd` ({ dst, namespace }), no dtab and an
 * io.l5d.namerd.http interpreter asking namerd to bind (the transformers apply to its answers).
 */
function routing(dtab, transformer, namerd) {
  const transformers = ["    transformers:", ...transformer.map((l) => `    ${l}`)];
  if (namerd !== undefined)
    return [
      "  interpreter:",
      "    kind: io.l5d.namerd.http",
      "    experimental: true",
      `    dst: ${namerd.dst}`,
      `    namespace: ${namerd.namespace ?? "default"}`,
      // a namerd restarted by hand is found again within a second or two
      "    retry: {baseSeconds: 0.5, maxSeconds: 2}",
      ...transformers,
    ];
  return [
    "  dtab: |",
    ...dtab.split("\n").map((l) => `    ${l}`),
    "  interpreter:",
    "    kind: default",
    ...transformers,
  ];
}

/** A node's config; `namerd` ({ dst, namespace }): the routers bind through namerd (no namers). */
export function nodeConfig({
  ip,
  disco,
  namerd,
  ports = { outgoing: 4140, incoming: 4141, admin: 9990 },
}) {
  return demoConfig({
    ip,
    disco: namerd === undefined ? disco : undefined,
    ports,
    router: (label, transformer) => [
      "- protocol: h2",
      `  label: ${label}`,
      "  experimental: true",
      "  identifier:",
      "    kind: io.l5d.header.path",
      "    segments: 1",
      ...routing(FS_DTAB, transformer, namerd),
    ],
  });
}

/**
 * namerd's config for `pnpm dev --namerd`: FS_DTAB in memory as the `default` namespace, the same
 * io.l5d.fs namer the l5ds would have (over `disco`), the HTTP API and admin on `ip`.
 */
export function namerdConfig({ ip = NAMERD, disco, ports = { http: 4180, admin: 9991 } }) {
  return [
    "admin:",
    `  ip: ${ip}`,
    `  port: ${ports.admin}`,
    "storage:",
    "  kind: io.l5d.inMemory",
    "  namespaces:",
    "    default: |",
    ...FS_DTAB.split("\n").map((l) => `      ${l}`),
    "namers:",
    "- kind: io.l5d.fs",
    `  rootDir: ${disco}`,
    "interfaces:",
    "- kind: io.l5d.httpController",
    `  ip: ${ip}`,
    `  port: ${ports.http}`,
    "",
  ].join("\n");
}

/** The `dst` of an io.l5d.namerd.http interpreter for namerd's HTTP API at `ip`:`port`. */
export function namerdDst(ip = NAMERD, port = 4180) {
  return `/$/inet/${ip}/${port}`;
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
