import { describe, expect, it } from "vitest";
import {
  HTTP1_BODY,
  http1Line,
  http1LoadSeconds,
  http1Phases,
  http1RpsLine,
  median,
  renderHttp1Markdown,
  roundOrder,
  summarizeCase,
} from "./http1.js";
import { H1_PROXIES } from "./peers.js";
import type { Http1Case, Http1Report, SaturatedResult } from "./results.js";
import {
  HAPROXY_H1_CFG,
  L5D_H1_YAML,
  NGHTTPX_H1_CONF,
  NGINX_H1_CONF,
  render,
} from "./templates.js";

/** The variables peers.ts gives each template (listen 127.0.0.1:1, upstream 127.0.0.1:2). */
const VARS = {
  l5d: {
    NAME: "l5d-1",
    ADMIN_PORT: 3,
    UP_HOST: "127.0.0.1",
    UP_PORT: 2,
    LISTEN_HOST: "127.0.0.1",
    LISTEN_PORT: 1,
  },
  nginx: { NAME: "nginx-1", RUNDIR: "/tmp/r", LISTEN: "127.0.0.1:1", UPSTREAM: "127.0.0.1:2" },
  haproxy: { NAME: "haproxy-1", LISTEN: "127.0.0.1:1", UPSTREAM: "127.0.0.1:2" },
  nghttpx: {
    NAME: "nghttpx-1",
    RUNDIR: "/tmp/r",
    LISTEN_HOST: "127.0.0.1",
    LISTEN_PORT: 1,
    UP_HOST: "127.0.0.1",
    UP_PORT: 2,
  },
};

describe("HTTP/1.1 peer configs", () => {
  it("l5d: a protocol: http router with Linkerd's default identifier, every /svc name to the backend", () => {
    const y = render(L5D_H1_YAML, VARS.l5d);
    expect(y).toContain("admin: {port: 3, ip: 127.0.0.1}");
    expect(y).toContain("- protocol: http\n");
    expect(y).toContain("  dtab: /svc/* => /$/inet/127.0.0.1/2;\n");
    expect(y).toContain("  servers: [{port: 1, ip: 127.0.0.1}]\n");
    expect(y).not.toContain("identifier"); // the default: io.l5d.header.token on Host
  });

  it("nginx: proxy_pass over pooled HTTP/1.1 keep-alive connections, plaintext HTTP/1.1 listener", () => {
    const c = render(NGINX_H1_CONF, VARS.nginx);
    expect(c).toContain("    listen 127.0.0.1:1;\n");
    expect(c).not.toContain("http2");
    expect(c).toContain("server 127.0.0.1:2;\n    keepalive 128;");
    expect(c).toContain("proxy_pass http://up;");
    expect(c).toContain("proxy_http_version 1.1;");
    expect(c).toContain('proxy_set_header Connection "";');
    expect(c).toContain("worker_processes 1;");
  });

  it("haproxy: mode http, http-reuse always, HTTP/1.1 on both sides", () => {
    const c = render(HAPROXY_H1_CFG, VARS.haproxy);
    expect(c).toContain("  mode http\n");
    expect(c).toContain("  bind 127.0.0.1:1\n");
    expect(c).toContain("  http-reuse always\n  server s1 127.0.0.1:2\n");
    expect(c).not.toContain("proto h2");
    expect(c).toContain("nbthread 1");
  });

  it("nghttpx: a no-tls frontend, an http/1.1 backend, one worker", () => {
    const c = render(NGHTTPX_H1_CONF, VARS.nghttpx);
    expect(c).toContain("frontend=127.0.0.1,1;no-tls\nbackend=127.0.0.1,2;;proto=http/1.1\n");
    expect(c).toContain("workers=1");
  });

  it("has an HTTP/1.1 kind for l5d and each peer, none for the h2-only naive proxy", () => {
    expect(H1_PROXIES.map((k) => k.name)).toEqual(["l5d", "nginx", "haproxy", "nghttpx"]);
    expect(HTTP1_BODY).toHaveLength(10);
  });
});

describe("HTTP/1.1 rounds", () => {
  it("takes medians, the mean of the middle two for an even count", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([Number.NaN, 5])).toBe(5);
    expect(median([])).toBeUndefined();
  });

  it("rotates the order every round", () => {
    expect(roundOrder(["a", "b", "c"], 0)).toEqual(["a", "b", "c"]);
    expect(roundOrder(["a", "b", "c"], 1)).toEqual(["b", "c", "a"]);
    expect(roundOrder(["a", "b", "c"], 4)).toEqual(["b", "c", "a"]);
    expect(roundOrder([], 2)).toEqual([]);
  });

  it("fits the default run of five cases in the time budget", () => {
    const p = http1Phases();
    expect(p).toMatchObject({ rounds: 3, clients: 16, saturatedS: 5 });
    expect(http1LoadSeconds(p, 5)).toBe(5 * (2 + 5 + 2 * (1 + 5)));
    expect(http1LoadSeconds(p, 5)).toBeLessThanOrEqual(150);
    expect(http1Phases(0.01).saturatedS).toBe(0.5);
  });
});

function sat(reqPerS: number, proxyCpuUsPerReq?: number, extra: Partial<SaturatedResult> = {}) {
  const s: SaturatedResult = {
    clients: 16,
    streams: 1,
    durationS: 5,
    reqPerS,
    succeeded: reqPerS * 5,
    failed: 0,
    backendCpuUsPerReq: 30,
    ...extra,
  };
  if (proxyCpuUsPerReq !== undefined) s.proxyCpuUsPerReq = proxyCpuUsPerReq;
  return s;
}

function cases(): Http1Case[] {
  const list: Http1Case[] = [
    { proxy: "direct", label: "no proxy", rounds: [sat(30_000), sat(28_000), sat(26_000)] },
    {
      proxy: "l5d",
      label: "l5d http",
      rounds: [sat(4_000, 200), sat(5_000, 180), sat(4_500, 190)],
      rss: { idleKb: 61 * 1024, afterKb: 70 * 1024, peakKb: 72 * 1024 },
    },
    {
      proxy: "haproxy",
      label: "haproxy",
      rounds: [sat(20_000, 20), sat(18_000, 19, { non2xx: 3, failed: 2 })],
      error: "round 3: h2load exited 1",
    },
    { proxy: "nginx", label: "nginx", rounds: [], error: "nginx:1 exited before listening" },
    { proxy: "nghttpx", label: "nghttpx", rounds: [sat(16_000, 40)] },
  ];
  return list.map(summarizeCase);
}

describe("HTTP/1.1 summary", () => {
  it("fills in the medians of each case's rounds", () => {
    const [direct, l5d, haproxy, nginx] = cases();
    expect(direct).toMatchObject({ reqPerS: 28_000, backendCpuUsPerReq: 30 });
    expect(direct?.proxyCpuUsPerReq).toBeUndefined();
    expect(l5d).toMatchObject({ reqPerS: 4_500, proxyCpuUsPerReq: 190 });
    expect(haproxy).toMatchObject({ reqPerS: 19_000, proxyCpuUsPerReq: 19.5 });
    expect(nginx?.reqPerS).toBeUndefined();
    expect(summarizeCase({ ...direct!, rounds: [] }).reqPerS).toBeUndefined();
  });

  it("prints the final line: l5d vs haproxy CPU per request, nginx and nghttpx", () => {
    expect(http1Line(cases())).toBe(
      "http1: l5d_cpu_us_per_req=190.0 haproxy_cpu_us_per_req=19.5 ratio_vs_haproxy=9.74 nginx=n/a nghttpx=40.0",
    );
    expect(http1Line([])).toBe(
      "http1: l5d_cpu_us_per_req=n/a haproxy_cpu_us_per_req=n/a ratio_vs_haproxy=n/a nginx=n/a nghttpx=n/a",
    );
  });

  it("prints req/s per case and l5d's ÷ each peer's", () => {
    expect(http1RpsLine(cases())).toBe(
      "http1 req/s: direct=28000 l5d=4500 nginx=n/a haproxy=19000 nghttpx=16000 l5d/nginx=n/a l5d/haproxy=0.24 l5d/nghttpx=0.28",
    );
  });

  it("renders the report's table", () => {
    const rep: Http1Report = {
      startedAt: "2026-12-04T00:00:00.000Z",
      finishedAt: "2026-12-04T00:02:00.000Z",
      mode: "http1",
      machine: {
        cpuModel: "X",
        cores: 2,
        kernel: "Linux 6",
        os: "Debian",
        memTotalMiB: 1024,
        node: "v20",
      },
      loadAvg: { start: 1.5, end: 2 },
      versions: { haproxy: "HAProxy 2.6" },
      skipped: [{ what: "http1 round 3/3: nghttpx", reason: "time budget used up" }],
      settings: { rounds: 3, saturatedS: 5 },
      cases: cases(),
    };
    const md = renderHttp1Markdown(rep);
    expect(md).toContain("other work was running");
    expect(md).toContain("3 interleaved rounds");
    expect(md).toContain("- http1 round 3/3: nghttpx: time budget used up");
    expect(md).toContain(
      "| direct | 28,000 | 30,000 / 28,000 / 26,000 | 1.00× | — | — | 30.0 | — | 0.16× | — | 0 / 0 |",
    );
    expect(md).toContain(
      "| l5d | 4,500 | 4,000 / 5,000 / 4,500 | 0.16× | 190.0 | 200.0 / 180.0 / 190.0 | 30.0 | — | — | 61.0 → 72.0 | 0 / 0 |",
    );
    expect(md).toContain(
      "| haproxy | 19,000 | 20,000 / 18,000 | 0.68× | 19.5 | 20.0 / 19.0 | 30.0 | 9.74× | 0.24× | — | 2 / 3 |",
    );
    expect(md).toContain("| nginx | error: nginx:1 exited before listening |");
    expect(md).toContain("- haproxy: round 3: h2load exited 1");
    expect(md).toContain("- l5d: l5d http");
  });
});
