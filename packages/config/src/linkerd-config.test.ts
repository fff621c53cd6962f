import { Path } from "@l5d/dtab";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { formatConfigErrors } from "./config-error.js";
import { parseLinkerdConfig } from "./linkerd-config.js";
import type { Registries } from "./linkerd-schema.js";
import { type PluginFactory, Registry } from "./plugin.js";
import {
  namerCommonShape,
  pluginCommonShape,
  positiveInt,
  transformerCommonShape,
} from "./schema-helpers.js";
import { resolveClientParams } from "./static-params.js";
import { toConfigJson } from "./to-config-json.js";

/** The tutorial's linkerd-grpc.yml config (linkerd-examples@560d9d3, tutorial era). */
const TUTORIAL = `admin:
  port: 9990

namers:
- kind: io.l5d.k8s
  experimental: true
  host: localhost
  port: 8001

telemetry:
- kind: io.l5d.prometheus
- kind: io.l5d.recentRequests
  sampleRate: 0.25

usage:
  orgId: linkerd-examples-daemonset-grpc

routers:
- protocol: h2
  experimental: true
  label: outgoing
  dtab: |
    /srv        => /#/io.l5d.k8s/default/grpc;
    /grpc       => /srv;
    /grpc/World => /srv/world-v1;
    /svc        => /$/io.buoyant.http.domainToPathPfx/grpc;
  identifier:
    kind: io.l5d.header.path
    segments: 1
  interpreter:
    kind: default
    transformers:
    - kind: io.l5d.k8s.daemonset
      namespace: default
      port: incoming
      service: l5d
  servers:
  - port: 4140
    ip: 0.0.0.0

- protocol: h2
  experimental: true
  label: incoming
  dtab: |
    /srv        => /#/io.l5d.k8s/default/grpc;
    /grpc       => /srv;
    /grpc/World => /srv/world-v1;
    /svc        => /$/io.buoyant.http.domainToPathPfx/grpc;
  identifier:
    kind: io.l5d.header.path
    segments: 1
  interpreter:
    kind: default
    transformers:
    - kind: io.l5d.k8s.localnode
  servers:
  - port: 4141
    ip: 0.0.0.0
`;

function factory<C>(
  kind: string,
  schema: z.ZodType<C>,
  experimental = false,
): PluginFactory<C, string> {
  return { kind, schema, experimental, make: (c) => `${kind}:${JSON.stringify(c)}` };
}

function registries(): Registries {
  const namers = new Registry<unknown>("namer");
  namers.register(factory("io.l5d.k8s", z.looseObject({ ...namerCommonShape })));
  namers.register(
    factory("io.l5d.fs", z.strictObject({ ...namerCommonShape, rootDir: z.string() })),
  );
  namers.register(
    factory("io.l5d.experimentalThing", z.strictObject({ ...namerCommonShape }), true),
  );
  const transformers = new Registry<unknown>("transformer");
  transformers.register(
    factory("io.l5d.k8s.daemonset", z.looseObject({ ...transformerCommonShape })),
  );
  transformers.register(
    factory("io.l5d.k8s.localnode", z.looseObject({ ...transformerCommonShape })),
  );
  transformers.register(
    factory("io.l5d.port", z.strictObject({ ...transformerCommonShape, port: z.number().int() })),
  );
  const identifiers = new Registry<unknown>("identifier");
  identifiers.register(
    factory(
      "io.l5d.header.path",
      z.strictObject({
        ...pluginCommonShape,
        header: z.string().default(":path"),
        segments: positiveInt().optional(),
      }),
    ),
  );
  identifiers.register(
    factory(
      "io.l5d.header.token",
      z.strictObject({ ...pluginCommonShape, header: z.string().default(":authority") }),
    ),
  );
  const interpreters = new Registry<unknown>("interpreter");
  interpreters.register(factory("default", z.strictObject({ ...pluginCommonShape })));
  const telemeters = new Registry<unknown>("telemeter");
  telemeters.register(factory("io.l5d.prometheus", z.looseObject({ ...pluginCommonShape })));
  telemeters.register(
    factory(
      "io.l5d.recentRequests",
      z.strictObject({
        ...pluginCommonShape,
        sampleRate: z.number(),
        capacity: z.number().default(10),
      }),
    ),
  );
  const loadBalancers = new Registry<unknown>("load balancer");
  loadBalancers.register(
    factory("p2c", z.strictObject({ ...pluginCommonShape, maxEffort: positiveInt().default(5) })),
  );
  loadBalancers.register(
    factory("ewma", z.strictObject({ ...pluginCommonShape, maxEffort: positiveInt().default(5) })),
  );
  const failureAccrual = new Registry<unknown>("failure accrual");
  failureAccrual.register(
    factory(
      "io.l5d.consecutiveFailures",
      z.strictObject({ ...pluginCommonShape, failures: positiveInt() }),
    ),
  );
  const responseClassifiers = new Registry<unknown>("response classifier");
  responseClassifiers.register(
    factory("io.l5d.h2.grpc.default", z.strictObject({ ...pluginCommonShape })),
  );
  const httpIdentifiers = new Registry<unknown>("identifier");
  httpIdentifiers.register(
    factory(
      "io.l5d.header.token",
      z.strictObject({ ...pluginCommonShape, header: z.string().default("Host") }),
    ),
  );
  httpIdentifiers.register(
    factory(
      "io.l5d.path",
      z.strictObject({ ...pluginCommonShape, segments: positiveInt().default(1) }),
    ),
  );
  const httpResponseClassifiers = new Registry<unknown>("response classifier");
  httpResponseClassifiers.register(
    factory("io.l5d.http.retryableRead5XX", z.strictObject({ ...pluginCommonShape })),
  );
  return {
    namers,
    transformers,
    identifiers,
    interpreters,
    telemeters,
    loadBalancers,
    failureAccrual,
    responseClassifiers,
    httpIdentifiers,
    httpResponseClassifiers,
  };
}

function parseOk(text: string) {
  const r = parseLinkerdConfig(text, registries());
  if (!r.ok) throw new Error(formatConfigErrors(r.errors));
  return r.config;
}

function errorsOf(text: string): string[] {
  const r = parseLinkerdConfig(text, registries());
  if (r.ok) throw new Error("expected errors");
  return formatConfigErrors(r.errors).split("\n");
}

const MIN = `routers:
- protocol: h2
  servers:
  - port: 4140
`;

describe("parseLinkerdConfig: the tutorial config", () => {
  it("parses linkerd-grpc.yml with Linkerd's defaults", () => {
    const c = parseOk(TUTORIAL);
    expect(c.admin).toMatchObject({ ip: "127.0.0.1", port: 9990, shutdownGraceMs: 10000 });
    expect(c.namers).toHaveLength(1);
    expect(c.namers[0]?.kind).toBe("io.l5d.k8s");
    expect(c.namers[0]?.experimental).toBe(true);
    expect(c.namers[0]?.mountPrefix.show).toBe("/#/io.l5d.k8s");
    expect(c.namers[0]?.config).toMatchObject({ host: "localhost", port: 8001 });
    expect(c.namers[0]?.path).toBe("namers[0]");
    expect(c.routers.map((r) => r.label)).toEqual(["outgoing", "incoming"]);
    const [out, inc] = c.routers;
    expect(out?.dtab.dentries).toHaveLength(4);
    expect(out?.dtab.show).toBe(
      "/srv=>/#/io.l5d.k8s/default/grpc;/grpc=>/srv;/grpc/World=>/srv/world-v1;/svc=>/$/io.buoyant.http.domainToPathPfx/grpc",
    );
    expect(out?.dstPrefix.show).toBe("/svc");
    expect(out?.identifiers.map((i) => [i.kind, i.config, i.path])).toEqual([
      [
        "io.l5d.header.path",
        { kind: "io.l5d.header.path", header: ":path", segments: 1 },
        "routers[0].identifier",
      ],
    ]);
    expect(out?.interpreter?.kind).toBe("default");
    expect(out?.interpreter?.transformers.map((t) => [t.kind, t.config, t.path])).toEqual([
      [
        "io.l5d.k8s.daemonset",
        { kind: "io.l5d.k8s.daemonset", namespace: "default", port: "incoming", service: "l5d" },
        "routers[0].interpreter.transformers[0]",
      ],
    ]);
    expect(inc?.interpreter?.transformers.map((t) => t.kind)).toEqual(["io.l5d.k8s.localnode"]);
    expect(out?.servers).toEqual([
      {
        port: 4140,
        ip: "0.0.0.0",
        clearContext: false,
        maxConcurrentStreamsPerConnection: 1000,
        initialStreamWindowBytes: 65535,
        maxFrameBytes: 16384,
        windowUpdateRatio: 0.99,
      },
    ]);
    expect(inc?.servers[0]?.port).toBe(4141);
    expect(out?.bindingTimeoutMs).toBe(10000);
    expect(out?.bindingCache).toEqual({
      paths: 1000,
      trees: 1000,
      bounds: 1000,
      clients: 1000,
      idleTtlSecs: 600,
    });
    expect(out?.client.kind).toBe("io.l5d.global");
    if (out?.client.kind === "io.l5d.global") {
      expect(out.client.params.loadBalancer?.kind).toBe("p2c");
      expect(out.client.params.loadBalancer?.config).toEqual({ kind: "p2c", maxEffort: 5 });
      expect(out.client.params.requeueBudget).toEqual({
        minRetriesPerSec: 10,
        percentCanRetry: 0.2,
        ttlSecs: 10,
      });
      expect(out.client.params.failFast).toBe(false);
    }
    expect(out?.service.kind).toBe("io.l5d.global");
    if (out?.service.kind === "io.l5d.global") {
      expect(out.service.params.retries).toEqual({
        budget: { minRetriesPerSec: 10, percentCanRetry: 0.2, ttlSecs: 10 },
        backoff: { kind: "constant", ms: 0 },
      });
      expect(out.service.params.classificationTimeoutMs).toBe(100);
    }
    expect(c.telemetry.map((t) => [t.kind, t.config])).toEqual([
      ["io.l5d.prometheus", { kind: "io.l5d.prometheus" }],
      ["io.l5d.recentRequests", { kind: "io.l5d.recentRequests", sampleRate: 0.25, capacity: 10 }],
    ]);
    expect(c.usage).toEqual({ orgId: "linkerd-examples-daemonset-grpc" });
  });

  it("keeps each plugin's factory so it can be built later", () => {
    const c = parseOk(TUTORIAL);
    const t = c.telemetry[1];
    expect(t?.factory.make(t.config, undefined as never)).toBe(
      'io.l5d.recentRequests:{"kind":"io.l5d.recentRequests","sampleRate":0.25,"capacity":10}',
    );
  });

  it("renders /config.json", () => {
    const json = toConfigJson(parseOk(TUTORIAL)) as Record<string, unknown>;
    const text = JSON.stringify(json);
    const back = JSON.parse(text) as {
      routers: { dtab: string; label: string; interpreter: { transformers: { kind: string }[] } }[];
      namers: { kind: string; prefix: string; experimental: boolean }[];
    };
    expect(back.routers[0]?.dtab).toContain("/grpc/World=>/srv/world-v1");
    expect(back.routers[0]?.interpreter.transformers[0]?.kind).toBe("io.l5d.k8s.daemonset");
    expect(back.namers[0]).toMatchObject({
      kind: "io.l5d.k8s",
      prefix: "/io.l5d.k8s",
      experimental: true,
    });
    expect(text).not.toContain("factory");
  });
});

describe("parseLinkerdConfig: defaults and options", () => {
  it("applies router and server defaults", () => {
    const c = parseOk(`routers:\n- protocol: h2\n  servers:\n  - {}\n`);
    const r = c.routers[0];
    expect(r?.label).toBe("h2");
    expect(r?.servers[0]).toMatchObject({ port: 4142, ip: "127.0.0.1" });
    expect(r?.identifiers.map((i) => i.kind)).toEqual(["io.l5d.header.token"]);
    expect(r?.identifiers[0]?.config).toEqual({
      kind: "io.l5d.header.token",
      header: ":authority",
    });
    expect(r?.interpreter?.kind).toBe("default");
    expect(r?.interpreter?.transformers).toEqual([]);
    expect(r?.dtab.dentries).toHaveLength(0);
    expect(c.namers).toEqual([]);
    expect(c.telemetry).toEqual([]);
  });

  it("protocol: http: Linkerd's defaults (port 4140, io.l5d.header.token on Host, the size limits)", () => {
    const c = parseOk(`routers:\n- protocol: http\n  servers:\n  - {}\n`);
    const r = c.routers[0];
    if (r?.protocol !== "http") throw new Error("expected an http router");
    expect(r.label).toBe("http");
    expect(r.dstPrefix.show).toBe("/svc");
    expect(r.servers[0]).toMatchObject({
      port: 4140,
      ip: "127.0.0.1",
      clearContext: false,
      headersTimeoutMs: 10_000,
      idleTimeoutMs: 60_000,
      maxConnections: 10_000,
    });
    expect(r.servers[0]?.addForwardedHeader).toBeUndefined();
    expect(r.identifiers[0]?.config).toEqual({ kind: "io.l5d.header.token", header: "Host" });
    expect(r).toMatchObject({
      maxChunkKB: 8,
      maxHeadersKB: 8,
      maxInitialLineKB: 4,
      maxRequestKB: 5120,
      maxResponseKB: 5120,
      compressionLevel: -1,
      streamingEnabled: true,
    });
  });

  it("protocol: http: its own identifiers, classifiers, server keys and Forwarded labelers", () => {
    const c = parseOk(`routers:
- protocol: http
  identifier:
    kind: io.l5d.path
    segments: 2
  httpAccessLog: /tmp/access.log
  maxHeadersKB: 16
  service:
    responseClassifier:
      kind: io.l5d.http.retryableRead5XX
  servers:
  - port: 5000
    engine: {kind: netty4}
    addForwardedHeader:
      by: {kind: static, label: linkerd}
`);
    const r = c.routers[0];
    if (r?.protocol !== "http") throw new Error("expected an http router");
    expect(r.identifiers[0]?.config).toEqual({ kind: "io.l5d.path", segments: 2 });
    expect(r.httpAccessLog).toBe("/tmp/access.log");
    expect(r.maxHeadersKB).toBe(16);
    expect(r.servers[0]?.addForwardedHeader).toEqual({
      by: { kind: "static", label: "linkerd" },
      for: { kind: "requestRandom" },
    });
    // h2 kinds are not http kinds, and the reverse
    expect(
      errorsOf(
        `routers:\n- protocol: http\n  identifier:\n    kind: io.l5d.header.path\n  servers:\n  - {}\n`,
      ),
    ).toEqual([
      "routers[0].identifier.kind: unknown identifier kind 'io.l5d.header.path' (known: io.l5d.header.token, io.l5d.path)",
    ]);
    expect(
      errorsOf(
        `routers:\n- protocol: h2\n  service:\n    responseClassifier:\n      kind: io.l5d.http.retryableRead5XX\n  servers:\n  - {}\n`,
      ),
    ).toEqual([
      "routers[0].service.responseClassifier.kind: unknown response classifier kind 'io.l5d.http.retryableRead5XX' (known: io.l5d.h2.grpc.default)",
    ]);
    expect(
      errorsOf(
        `routers:\n- protocol: http\n  maxHeadersKB: 0\n  servers:\n  - addForwardedHeader: {for: {kind: mac}}\n    maxConcurrentStreamsPerConnection: 5\n`,
      ),
    ).toEqual([
      "routers[0].maxHeadersKB: expected a positive integer",
      "routers[0].servers[0].addForwardedHeader.for.kind: unknown labeler kind 'mac' (known: ip, ip:port, connectionRandom, requestRandom, router, static)",
      "routers[0].servers[0].maxConcurrentStreamsPerConnection: unknown key",
    ]);
  });

  it("checks port clashes with each protocol's default port", () => {
    expect(
      errorsOf(
        `routers:\n- protocol: http\n  servers:\n  - {}\n- protocol: h2\n  servers:\n  - port: 4140\n`,
      ),
    ).toEqual([expect.stringMatching(/^routers\[1\]\.servers\[0\]\.port: .*4140/)]);
  });

  it("rejects servers[].dataPlane: the node:http2 data plane was removed, the relay is the only one", () => {
    for (const v of ["node", "relay"]) {
      const errors = errorsOf(
        `routers:\n- protocol: h2\n  servers:\n  - {}\n  - {port: 4143, dataPlane: ${v}}\n`,
      );
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/^routers\[0\]\.servers\[1\]\.dataPlane: /);
      expect(errors[0]).toContain("node:http2 data plane was removed");
      expect(errors[0]).toContain("relay is the only data plane");
    }
  });

  it("reads client.connectTimeoutMs: default 3000, router-level and per io.l5d.static prefix", () => {
    const d = parseOk(`routers:\n- protocol: h2\n  servers:\n  - {}\n`).routers[0]?.client;
    expect(d?.kind === "io.l5d.global" && d.params.connectTimeoutMs).toBe(3000);
    const g = parseOk(
      `routers:\n- protocol: h2\n  servers:\n  - {}\n  client:\n    connectTimeoutMs: 250\n`,
    ).routers[0]?.client;
    expect(g?.kind === "io.l5d.global" && g.params.connectTimeoutMs).toBe(250);
    const s = parseOk(`routers:
- protocol: h2
  servers:
  - {}
  client:
    kind: io.l5d.static
    configs:
    - prefix: /#/io.l5d.fs/slow
      connectTimeoutMs: 9000
`).routers[0]?.client;
    if (s?.kind !== "io.l5d.static") throw new Error("expected a static client section");
    expect(resolveClientParams(s, Path.read("/#/io.l5d.fs/slow")).connectTimeoutMs).toBe(9000);
    expect(resolveClientParams(s, Path.read("/#/io.l5d.fs/other")).connectTimeoutMs).toBe(3000);
    for (const bad of ["0", "-5", "fast"]) {
      const errors = errorsOf(
        `routers:\n- protocol: h2\n  servers:\n  - {}\n  client:\n    connectTimeoutMs: ${bad}\n`,
      );
      expect(errors.join("\n")).toMatch(/^routers\[0\]\.client\.connectTimeoutMs: /);
    }
  });

  it("accepts a list of identifiers, custom prefixes and static clients", () => {
    const c = parseOk(`namers:
- kind: io.l5d.fs
  prefix: /disco
  rootDir: /tmp
  transformers:
  - kind: io.l5d.port
    port: 4141
routers:
- protocol: h2
  dstPrefix: /grpc
  identifier:
  - kind: io.l5d.header.path
    segments: 2
  - kind: io.l5d.header.token
  client:
    kind: io.l5d.static
    configs:
    - prefix: /#/io.l5d.fs/{service}
      loadBalancer:
        kind: ewma
    - prefix: /#/io.l5d.fs/slow
      requestAttemptTimeoutMs: 500
      failureAccrual:
        kind: io.l5d.consecutiveFailures
        failures: 3
  service:
    totalTimeoutMs: 2000
    retries:
      backoff:
        kind: jittered
        minMs: 10
        maxMs: 100
  servers:
  - port: 0
  - port: 0
`);
    expect(c.namers[0]?.mountPrefix.show).toBe("/#/disco");
    expect(c.namers[0]?.transformers.map((t) => [t.kind, t.path])).toEqual([
      ["io.l5d.port", "namers[0].transformers[0]"],
    ]);
    const r = c.routers[0];
    expect(r?.dstPrefix.show).toBe("/grpc");
    expect(r?.identifiers.map((i) => [i.kind, i.path])).toEqual([
      ["io.l5d.header.path", "routers[0].identifier[0]"],
      ["io.l5d.header.token", "routers[0].identifier[1]"],
    ]);
    expect(r?.client.kind).toBe("io.l5d.static");
    if (!r) throw new Error("no router");
    const slow = resolveClientParams(r.client, Path.read("/#/io.l5d.fs/slow"));
    expect(slow.loadBalancer?.kind).toBe("ewma");
    expect(slow.loadBalancer?.path).toBe("routers[0].client.configs[0].loadBalancer");
    expect(slow.requestAttemptTimeoutMs).toBe(500);
    expect(slow.failureAccrual?.config).toEqual({
      kind: "io.l5d.consecutiveFailures",
      failures: 3,
    });
    expect(slow.requeueBudget.percentCanRetry).toBe(0.2);
    const other = resolveClientParams(r.client, Path.read("/$/inet/127.1/80"));
    expect(other.loadBalancer?.kind).toBe("p2c");
    expect(other.requestAttemptTimeoutMs).toBeUndefined();
    expect(r.service.kind === "io.l5d.global" && r.service.params.retries.backoff).toEqual({
      kind: "jittered",
      minMs: 10,
      maxMs: 100,
    });
    expect(r.service.kind === "io.l5d.global" && r.service.params.totalTimeoutMs).toBe(2000);
  });

  it("treats empty YAML values as absent", () => {
    const c = parseOk(`admin:\ntelemetry:\n${MIN}`);
    expect(c.admin.port).toBe(9990);
  });

  it("accepts the HEAD admin keys", () => {
    const c = parseOk(
      `admin:\n  ip: 0.0.0.0\n  port: 9991\n  shutdownGraceMs: 500\n  workerThreads: 4\n${MIN}`,
    );
    expect(c.admin).toMatchObject({
      ip: "0.0.0.0",
      port: 9991,
      shutdownGraceMs: 500,
      workerThreads: 4,
    });
  });
});

describe("parseLinkerdConfig: errors", () => {
  it("reports an unknown kind with the known kinds", () => {
    expect(
      errorsOf(
        `routers:\n- protocol: h2\n  identifier:\n    kind: io.l5d.nope\n  servers:\n  - port: 1\n`,
      ),
    ).toEqual([
      "routers[0].identifier.kind: unknown identifier kind 'io.l5d.nope' (known: io.l5d.header.path, io.l5d.header.token)",
    ]);
  });

  it("reports a plugin's own schema errors by path", () => {
    expect(
      errorsOf(
        `routers:\n- protocol: h2\n  identifier:\n    kind: io.l5d.header.path\n    segments: 0\n  servers:\n  - port: 1\n`,
      ),
    ).toEqual(["routers[0].identifier.segments: expected a positive integer"]);
  });

  it("lists every error at once: unknown keys, wrong types, bad dtab, missing servers, unsupported protocol", () => {
    const errs = errorsOf(`admin:
  port: ninety
  colour: blue
namers:
- kind: io.l5d.experimentalThing
- kind: io.l5d.fs
telemetry:
- kind: io.l5d.statsd
routers:
- protocol: thrift
  servers:
  - port: 1
- protocol: h2
  label: second
  dtab: /svc => /#/io.l5d.fs &
  bindingTimeoutMs: -5
  servers:
  - port: 70000
    tls:
      certPath: /x
- protocol: h2
  label: third
usage:
  orgId: 3
`);
    expect(errs).toEqual([
      "admin.port: expected a port number (0-65535)",
      "admin.colour: unknown key",
      "namers[0].experimental: namer kind 'io.l5d.experimentalThing' is experimental and must be explicitly enabled with 'experimental: true'",
      "namers[1].rootDir: required",
      "telemetry[0].kind: unknown telemeter kind 'io.l5d.statsd' (known: io.l5d.prometheus, io.l5d.recentRequests)",
      "routers[0].protocol: unsupported protocol 'thrift' (supported: h2, http)",
      expect.stringMatching(/^routers\[1\]\.dtab: invalid dtab: /),
      "routers[1].bindingTimeoutMs: expected a positive integer",
      "routers[1].servers[0].port: expected a port number (0-65535)",
      "routers[1].servers[0].tls.keyPath: required",
      "routers[2].servers: required",
      "usage.orgId: expected a string, got number 3",
    ]);
  });

  it("reports the DtabParseError message", () => {
    const [e] = errorsOf(`routers:\n- protocol: h2\n  dtab: /svc => \n  servers:\n  - port: 1\n`);
    expect(e).toMatch(/^routers\[0\]\.dtab: invalid dtab: .+/);
  });

  it("reports duplicate keys with line numbers, together with schema errors", () => {
    const r = parseLinkerdConfig(
      `admin:\n  port: 9990\n  port: 9991\nrouters:\n- protocol: h2\n  servers:\n  - port: 1\n    port: 2\n    bogus: 1\n`,
      registries(),
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(formatConfigErrors(r.errors).split("\n")).toEqual([
      "admin.port: duplicate key 'port' (line 3, column 3)",
      "routers[0].servers[0].port: duplicate key 'port' (line 8, column 5)",
      "routers[0].servers[0].bogus: unknown key",
    ]);
    expect(r.errors[2]?.line).toBe(9);
    expect(formatConfigErrors([r.errors[2] ?? { path: "", message: "" }], { lines: true })).toBe(
      "routers[0].servers[0].bogus: unknown key (line 9)",
    );
  });

  it("reports YAML syntax errors with line:col", () => {
    const [e, ...rest] = errorsOf(`admin:\n  port: [1, 2\nrouters: {\n`);
    expect(e).toMatch(/^YAML syntax error at line \d+:\d+: /);
    expect(rest.every((x) => x.startsWith("YAML syntax error at line"))).toBe(true);
  });

  it("reports port clashes between servers, and with admin, with 0.0.0.0 clashing with everything", () => {
    expect(
      errorsOf(`admin:
  port: 4141
routers:
- protocol: h2
  label: a
  servers:
  - port: 4140
    ip: 0.0.0.0
  - port: 4141
- protocol: h2
  label: b
  servers:
  - port: 4140
    ip: 127.0.0.2
  - port: 4142
  - port: 4142
    ip: 127.0.0.3
  - port: 0
  - port: 0
`),
    ).toEqual([
      "routers[0].servers[1].port: 127.0.0.1:4141 clashes with admin (127.0.0.1:4141)",
      "routers[1].servers[0].port: 127.0.0.2:4140 clashes with routers[0].servers[0] (0.0.0.0:4140)",
    ]);
  });

  it("reports duplicate router labels and namer prefixes", () => {
    expect(
      errorsOf(`namers:
- kind: io.l5d.fs
  rootDir: /a
- kind: io.l5d.fs
  rootDir: /b
routers:
- protocol: h2
  servers: [{port: 1}]
- protocol: h2
  servers: [{port: 2}]
`),
    ).toEqual([
      "namers[1].prefix: prefix /io.l5d.fs is already used by namers[0]",
      "routers[1].protocol: duplicate router label 'h2' (also routers[0]); set a unique 'label'",
    ]);
  });

  it("reports unknown transformer kinds inside an interpreter and a namer", () => {
    expect(
      errorsOf(`namers:
- kind: io.l5d.fs
  rootDir: /a
  transformers:
  - kind: io.l5d.nope
routers:
- protocol: h2
  interpreter:
    kind: default
    transformers:
    - kind: io.l5d.port
    - port: 1
  servers: [{port: 1}]
`),
    ).toEqual([
      "namers[0].transformers[0].kind: unknown transformer kind 'io.l5d.nope' (known: io.l5d.k8s.daemonset, io.l5d.k8s.localnode, io.l5d.port)",
      "routers[0].interpreter.transformers[0].port: required",
      "routers[0].interpreter.transformers[1].kind: required (known transformer kinds: io.l5d.k8s.daemonset, io.l5d.k8s.localnode, io.l5d.port)",
    ]);
  });

  it("reports bad client/service sections and a missing routers list", () => {
    expect(errorsOf(`admin: {}\n`)).toEqual(["routers: required"]);
    expect(
      errorsOf(`routers:
- protocol: h2
  client:
    kind: io.l5d.perHost
  service:
    retries:
      backoff:
        kind: jittered
        minMs: 5
    responseClassifier:
      kind: io.l5d.h2.nope
  servers: [{port: 1}]
`),
    ).toEqual([
      "routers[0].client.kind: unknown kind 'io.l5d.perHost' (known: io.l5d.global, io.l5d.static)",
      "routers[0].service.retries.backoff.maxMs: required",
      "routers[0].service.responseClassifier.kind: unknown response classifier kind 'io.l5d.h2.nope' (known: io.l5d.h2.grpc.default)",
    ]);
  });

  it("workers: 1 by default, 1..64 accepted, anything else refused naming the key", () => {
    expect(parseOk(MIN).workers).toBe(1);
    expect(parseOk(`workers: 2\n${MIN}`).workers).toBe(2);
    expect(parseOk(`workers: 64\n${MIN}`).workers).toBe(64);
    for (const bad of ["0", "65", "1.5", "two", "-1"])
      expect(errorsOf(`workers: ${bad}\n${MIN}`)).toEqual([
        "workers: expected an integer between 1 and 64",
      ]);
  });

  it("rejects an empty file and a non-map document", () => {
    expect(errorsOf("")).toEqual(["the config is empty"]);
    expect(errorsOf("- 1\n")[0]).toMatch(/^expected a map of top-level keys/);
  });
});
