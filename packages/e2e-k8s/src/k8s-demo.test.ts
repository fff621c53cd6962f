// deploy/local/k8s-demo.mjs: the tutorial's config with only the edits a machine forces, and
// the objects of the tutorial's manifests, checked against l5d --check and the real stand-in.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type K8sObject, startStandin } from "@l5d/k8s-standin";
import { afterEach, describe, expect, it } from "vitest";
import {
  DEV_NODES,
  DEV_PODS,
  fixturesText,
  TUTORIAL_CONFIG_PATH,
  tutorialConfig,
  tutorialConfigChanges,
  tutorialObjects,
} from "../../../deploy/local/k8s-demo.mjs";
import { runInNamespace } from "./lab-process.js";
import { repoRoot } from "./repo-root.js";

const root = repoRoot();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Lines of `b` that are not in `a` and vice versa (a multiset line diff). */
function lineDiff(a: string, b: string): { removed: string[]; added: string[] } {
  const count = (t: string) => {
    const m = new Map<string, number>();
    for (const l of t.split("\n")) m.set(l, (m.get(l) ?? 0) + 1);
    return m;
  };
  const ca = count(a);
  const cb = count(b);
  const minus = (x: Map<string, number>, y: Map<string, number>) =>
    [...x].flatMap(([l, n]) => Array<string>(Math.max(0, n - (y.get(l) ?? 0))).fill(l));
  return { removed: minus(ca, cb), added: minus(cb, ca) };
}

describe("tutorialConfig", () => {
  const original = readFileSync(TUTORIAL_CONFIG_PATH, "utf8");

  it("is the tutorial's file byte for byte without options", () => {
    expect(tutorialConfig()).toBe(original);
    expect(tutorialConfigChanges()).toEqual([]);
  });

  it("changes only the servers' ip and admin.ip for pnpm dev", () => {
    const d = lineDiff(original, tutorialConfig({ serverIp: "127.0.1.1", adminIp: "127.0.1.1" }));
    expect(d.removed).toEqual(["    ip: 0.0.0.0", "    ip: 0.0.0.0"]);
    expect(d.added).toEqual(["  ip: 127.0.1.1", "    ip: 127.0.1.1", "    ip: 127.0.1.1"]);
    expect(tutorialConfigChanges({ serverIp: "x", adminIp: "x" })).toHaveLength(2);
  });

  it("changes only where the API is reached (and admin.ip) for the network-namespace test", () => {
    const d = lineDiff(
      original,
      tutorialConfig({ api: { host: "10.240.0.2", port: 8001 }, adminIp: "0.0.0.0" }),
    );
    expect(d.removed).toEqual(["  host: localhost"]);
    expect(d.added).toEqual([
      "  ip: 0.0.0.0",
      "  host: 10.240.0.2",
      "      k8sHost: 10.240.0.2",
      "      k8sPort: 8001",
    ]);
  });

  it("passes l5d --check with POD_IP set", async () => {
    const dir = mkdtempSync(join(tmpdir(), "k8s-demo-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "l5d.yaml");
    writeFileSync(file, tutorialConfig({ serverIp: "127.0.1.1", adminIp: "127.0.1.1" }));
    const r = await runInNamespace({
      ns: undefined,
      name: "check",
      cwd: root,
      args: ["apps/l5d/dist/main.js", "--check", file],
      env: { POD_IP: "127.0.1.1" },
      timeoutMs: 20_000,
    });
    expect(r.stderr + r.stdout).not.toMatch(/error/i);
    expect(r.code).toBe(0);
  });
});

describe("tutorialObjects", () => {
  it("gives the stand-in what it needs to derive the tutorial's Endpoints", async () => {
    const objects = JSON.parse(fixturesText(tutorialObjects({ nodes: DEV_NODES, pods: DEV_PODS })))
      .items as K8sObject[];
    const s = await startStandin({ host: "127.0.0.1", port: 0, objects });
    cleanups.push(() => s.close());
    const ep = (name: string) =>
      s.get("Endpoints", "default", name) as unknown as {
        subsets: {
          addresses: { ip: string; nodeName: string }[];
          ports: { name: string; port: number }[];
        }[];
      };
    expect(ep("hello").subsets).toEqual([
      expect.objectContaining({
        addresses: [expect.objectContaining({ ip: "127.0.1.10", nodeName: "node-a" })],
        ports: [expect.objectContaining({ name: "grpc", port: 7777 })],
      }),
    ]);
    expect(ep("world-v1").subsets[0]?.addresses.map((a) => a.ip)).toEqual(["127.0.2.10"]);
    const l5d = ep("l5d").subsets[0];
    expect(l5d?.addresses.map((a) => [a.ip, a.nodeName]).sort()).toEqual([
      ["127.0.1.1", "node-a"],
      ["127.0.2.1", "node-b"],
    ]);
    expect(l5d?.ports.map((p) => `${p.name}:${p.port}`).sort()).toEqual([
      "admin:9990",
      "incoming:4141",
      "outgoing:4140",
    ]);
    // the manifests' Services: hello and world-v1 headless, l5d a LoadBalancer
    const spec = (name: string) =>
      s.get("Service", "default", name)?.spec as Record<string, unknown>;
    expect(spec("hello")).toMatchObject({ clusterIP: "None" });
    expect(spec("world-v1")).toMatchObject({ clusterIP: "None" });
    expect(spec("l5d")).toMatchObject({ type: "LoadBalancer" });
    expect(s.get("Service", "default", "world-v2")).toBeUndefined();
  });
});
