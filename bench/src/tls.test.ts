/**
 * The `-tls` cases: their configs, command line, report, and the backend's TLS port answering
 * over real TLS sockets with the run's certificates (openssl), checked against the run's CA.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseArgs, UsageError } from "./cli.js";
import { GrpcProbeError, grpcCall, grpcFrame, probe } from "./grpc.js";
import { freePort, waitForPort } from "./net.js";
import { PROXIES, type StartContext } from "./peers.js";
import { renderMarkdown, TLS_CPU_GOAL, tlsLine } from "./report.js";
import type { CaseResult, RunReport } from "./results.js";
import { loadUrl } from "./runner.js";
import { Supervisor } from "./supervisor.js";
import { L5D_TLS_YAML, NGHTTPX_TLS_CONF, render, TemplateError } from "./templates.js";
import { BENCH_TLS_NAME, type BenchTls, clientTlsOf, makeBenchTls } from "./tls.js";

const benchDir = new URL("..", import.meta.url).pathname;
const repoRoot = new URL("../..", import.meta.url).pathname;
const empty = grpcFrame(new Uint8Array(0));
const GREETING = "/helloworld.World/Greeting";

/** The variables peers.ts gives the TLS templates (listen 127.0.0.1:1, upstream 127.0.0.1:2). */
const TLS = { CA: "/r/certs/ca.pem", CERT: "/r/certs/cert.pem", KEY: "/r/certs/key.pem" };
const VARS = {
  NAME: "x-1",
  RUNDIR: "/tmp/r",
  ADMIN_PORT: 3,
  LISTEN_HOST: "127.0.0.1",
  LISTEN_PORT: 1,
  UP_HOST: "127.0.0.1",
  UP_PORT: 2,
  UP_NAME: "linkerd",
};

describe("TLS peer configs", () => {
  it("nghttpx: a TLS frontend with the run's certificate, an h2 backend over TLS checked against the CA", () => {
    const c = render(NGHTTPX_TLS_CONF, { ...VARS, ...TLS });
    expect(c).toContain("\nfrontend=127.0.0.1,1\n"); // no `;no-tls`: TLS, ALPN h2
    expect(c).toContain("\nbackend=127.0.0.1,2;;proto=h2;tls;sni=linkerd\n");
    expect(c).toContain(
      "\nprivate-key-file=/r/certs/key.pem\ncertificate-file=/r/certs/cert.pem\n",
    );
    expect(c).toContain("\ncacert=/r/certs/ca.pem\n");
    expect(c).not.toMatch(/insecure|no-tls/); // the backend's certificate is checked
    expect(c).toContain("\nno-ocsp=yes\n");
    expect(c).toContain("\nworkers=1\n");
  });

  it("l5d: server tls on the listener, router-level client tls trusting the CA with the certificate's name", () => {
    const q = Object.fromEntries(Object.entries(TLS).map(([k, v]) => [k, JSON.stringify(v)]));
    const y = render(L5D_TLS_YAML, { ...VARS, ...q });
    expect(y).toContain("- protocol: h2\n");
    expect(y).toContain("  identifier: {kind: io.l5d.header.token}\n");
    expect(y).toContain("  dtab: /svc/* => /$/inet/127.0.0.1/2;\n");
    expect(y).toContain(
      '  servers:\n  - port: 1\n    ip: 127.0.0.1\n    tls: {certPath: "/r/certs/cert.pem", keyPath: "/r/certs/key.pem"}\n',
    );
    expect(y).toContain(
      '  client:\n    tls: {commonName: linkerd, trustCerts: ["/r/certs/ca.pem"]}\n',
    );
  });

  it("a TLS template without the certificates is a template error", () => {
    expect(() => render(NGHTTPX_TLS_CONF, VARS)).toThrow(TemplateError);
    expect(() => render(L5D_TLS_YAML, VARS)).toThrow(/CERT|KEY|CA/);
  });

  it("has two TLS kinds, after the cleartext ones, unavailable without the run's certificates", () => {
    expect(PROXIES.map((k) => k.name)).toEqual([
      "l5d",
      "naive",
      "nginx",
      "haproxy",
      "nghttpx",
      "l5d-tls",
      "nghttpx-tls",
    ]);
    expect(PROXIES.filter((k) => k.tls).map((k) => k.name)).toEqual(["l5d-tls", "nghttpx-tls"]);
    const ctx: StartContext = {
      sup: new Supervisor(),
      rundir: "/nonexistent",
      repoRoot,
      tools: new Map([["nghttpx", { ok: true, path: "/usr/sbin/nghttpx", version: "1.52" }]]),
    };
    const ngTls = PROXIES.find((k) => k.name === "nghttpx-tls");
    expect(ngTls?.available(ctx)).toEqual({
      ok: false,
      reason: "no TLS certificates for the run (openssl missing or failed)",
    });
    const tls: BenchTls = { caCert: "c", cert: "c", key: "k", serverName: "linkerd" };
    expect(ngTls?.available({ ...ctx, tls })).toEqual({ ok: true, version: "1.52" });
    // the cleartext nghttpx does not need them
    expect(PROXIES.find((k) => k.name === "nghttpx")?.available(ctx).ok).toBe(true);
  });

  it("h2load gets an https:// URL for a TLS port", () => {
    const req = { path: GREETING, headers: [] };
    expect(loadUrl({ port: 7, tls: true }, req)).toBe(`https://127.0.0.1:7${GREETING}`);
    expect(loadUrl({ port: 7 }, req)).toBe(`http://127.0.0.1:7${GREETING}`);
  });
});

describe("TLS command line", () => {
  it("selects the TLS cases with --only, in any mode but --http1", () => {
    expect(parseArgs(["--quick", "--only=l5d,nghttpx,l5d-tls,nghttpx-tls"]).only).toEqual([
      "l5d",
      "nghttpx",
      "l5d-tls",
      "nghttpx-tls",
    ]);
    expect(parseArgs(["--only=nghttpx-tls"]).only).toEqual(["nghttpx-tls"]);
    expect(() => parseArgs(["--http1", "--only=l5d-tls"])).toThrow(/l5d-tls has no HTTP\/1.1/);
    expect(() => parseArgs(["--only=haproxy-tls"])).toThrow(UsageError);
  });
});

function tlsCase(proxy: "l5d-tls" | "nghttpx-tls", cpu: number, rps: number): CaseResult {
  return {
    id: `node/${proxy}/1/unary`,
    backend: "node",
    proxy,
    hops: 1,
    workload: "unary",
    saturated: {
      clients: 4,
      streams: 32,
      durationS: 4,
      reqPerS: rps,
      succeeded: rps * 4,
      failed: 0,
      proxyCpuUsPerReq: cpu,
      proxyCpuUsPerReqPerHop: cpu,
    },
  };
}

function report(cases: CaseResult[]): RunReport {
  return {
    startedAt: "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:01:00.000Z",
    mode: "quick",
    machine: { cpuModel: "X", cores: 2, kernel: "L", os: "D", memTotalMiB: 1, node: "v20" },
    versions: {},
    skipped: [],
    settings: {},
    cases,
  };
}

describe("TLS report", () => {
  it("prints l5d-tls against nghttpx-tls, CPU and throughput with their ratios", () => {
    const cases = [tlsCase("l5d-tls", 30, 15_000), tlsCase("nghttpx-tls", 12, 24_000)];
    expect(tlsLine(cases)).toBe(
      "tls: l5d_cpu_us_per_req=30.0 nghttpx_cpu_us_per_req=12.0 ratio=2.50 l5d_req_per_s=15000 nghttpx_req_per_s=24000 req_per_s_ratio=0.63",
    );
    expect(tlsLine([tlsCase("nghttpx-tls", 12, 24_000)])).toBe(
      "tls: l5d_cpu_us_per_req=n/a nghttpx_cpu_us_per_req=12.0 ratio=n/a l5d_req_per_s=n/a nghttpx_req_per_s=24000 req_per_s_ratio=n/a",
    );
  });

  it("renders the TLS section: ratios to nghttpx-tls and to the cleartext case, and the goal", () => {
    const l5dPlain: CaseResult = {
      ...tlsCase("l5d-tls", 20, 18_000),
      id: "node/l5d/1/unary",
      proxy: "l5d",
    };
    const md = renderMarkdown(
      report([l5dPlain, tlsCase("l5d-tls", 30, 15_000), tlsCase("nghttpx-tls", 12, 24_000)]),
    );
    expect(md).toContain("## TLS, one hop, same run (issue #16)");
    expect(md).toContain("Loopback h2c (the `-tls` cases: TLS with ALPN h2 on both sides)");
    expect(md).toContain("| l5d-tls ×1 | 15,000 | 30.0 | 2.50× | 0.63× | 1.50× | 0.83× |");
    expect(md).toContain("| nghttpx-tls ×1 | 24,000 | 12.0 | 1.00× | 1.00× | n/a | n/a |");
    expect(md).toContain(
      "Goal: l5d-tls at most 1.50× nghttpx-tls's CPU per request — 2.50×: not met.",
    );
    const met = renderMarkdown(
      report([tlsCase("l5d-tls", 12 * TLS_CPU_GOAL, 20_000), tlsCase("nghttpx-tls", 12, 24_000)]),
    );
    expect(met).toContain("— 1.50×: met.");
    // a run without TLS cases has no TLS section
    expect(renderMarkdown(report([l5dPlain]))).not.toContain("TLS");
  });
});

describe("the run's certificates and the backend's TLS port", () => {
  const sup = new Supervisor();
  let dir = "";
  let tls: BenchTls;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "bench-tls-test-"));
    tls = makeBenchTls(dir);
  });
  afterAll(async () => {
    await sup.stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it("makes a CA and a certificate for the name the proxies check", () => {
    expect(tls.serverName).toBe(BENCH_TLS_NAME);
    expect(readFileSync(tls.caCert, "utf8")).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(readFileSync(tls.cert, "utf8")).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(readFileSync(tls.key, "utf8")).toMatch(/PRIVATE KEY-----/);
    expect(tls.cert.startsWith(join(dir, "certs"))).toBe(true);
  });

  it("the backend answers on its h2c port and, over TLS with ALPN h2, on its TLS port", async () => {
    const port = await freePort();
    const tlsPort = await freePort();
    const child = sup.spawn("backend", process.execPath, [
      join(benchDir, "backend.mjs"),
      String(port),
      `--tls=${tlsPort},${tls.cert},${tls.key}`,
    ]);
    await waitForPort(port, 10_000, child);
    await waitForPort(tlsPort, 10_000, child);
    const plain = await probe(port, GREETING, empty, 1);
    expect(plain.messages[0]!.subarray(2).toString()).toBe("world!");
    const target = { port: tlsPort, tls: clientTlsOf(tls) };
    const secure = await probe(target, GREETING, empty, 1);
    expect(secure.messages[0]!.subarray(2).toString()).toBe("world!");
    const stream = await probe(target, "/bench.Bench/Stream", empty, 5, { "x-bench-count": "5" });
    expect(stream.messages).toHaveLength(5);
    // the certificate is checked: another name fails the handshake
    await expect(
      grpcCall(
        { port: tlsPort, tls: { ...clientTlsOf(tls), servername: "other" } },
        GREETING,
        empty,
      ),
    ).rejects.toThrow(/altnames|does not match/);
    // and the TLS port does not speak h2c
    await expect(probe(tlsPort, GREETING, empty, 1)).rejects.toThrow(GrpcProbeError);
  });

  it("the backend refuses an unknown flag", async () => {
    const child = sup.spawn("backend", process.execPath, [
      join(benchDir, "backend.mjs"),
      "0",
      "--nope",
    ]);
    expect(await child.exited).toBe(2);
    expect(child.output()).toContain("unknown flag --nope");
  });
});
