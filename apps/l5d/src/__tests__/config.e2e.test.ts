/**
 * The daemon's config handling, through the built binary: `--check`, every error listed by key
 * path, refusing to start on a bad config, and every example config in deploy/ loading and
 * building (Linkerd's ExamplesTest).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { formatConfigErrors, parseLinkerdConfig } from "@l5d/config";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { makeLinkerdCerts } from "../../../../deploy/local/tls-certs.mjs";
import { buildPlugins } from "../linker.js";
import { createRegistries } from "../plugins.js";

const root = new URL("../../../../", import.meta.url).pathname;
const bin = join(root, "apps/l5d/dist/main.js");
const dir = mkdtempSync(join(tmpdir(), "l5d-config-test-"));

function l5d(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe("l5d --check", () => {
  it("accepts the tutorial's config unchanged", () => {
    const r = l5d(["--check", join(root, "deploy/examples/linkerd-grpc.yaml")], {
      POD_IP: "10.196.1.5",
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("ok (2 router(s), 1 namer(s))");
  });

  it("lists every error by key path and exits 1", () => {
    const p = file(
      "bad.yaml",
      `admin:
  port: 9990
  colour: blue
routers:
- protocol: h2
  label: outgoing
  identifier:
    kind: io.l5d.header.path
    segments: 0
  dtab: /svc => /$/inet/{nope};
  servers:
  - port: 4140
- protocol: h2
  label: incoming
  identifier: {kind: io.l5d.nope}
  servers:
  - port: 4140
`,
    );
    const r = l5d(["--check", p]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("routers[0].identifier.segments: expected a positive integer");
    expect(r.stderr).toContain("admin.colour");
    expect(r.stderr).toMatch(/routers\[0\]\.dtab: .*label char expected but '\{' found/);
    expect(r.stderr).toMatch(
      /routers\[1\]\.identifier\.kind: unknown identifier kind 'io\.l5d\.nope'/,
    );
    expect(r.stderr).toMatch(/4140/);
  });

  it("fails on servers[].dataPlane: the node:http2 data plane was removed", () => {
    const p = file(
      "dataplane.yaml",
      "routers:\n- protocol: h2\n  servers:\n  - {port: 4142, dataPlane: node}\n",
    );
    const r = l5d(["--check", p]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "routers[0].servers[0].dataPlane: the node:http2 data plane was removed; the frame-level relay is the only data plane",
    );
  });

  it("reports duplicate keys with their line", () => {
    const p = file(
      "dup.yaml",
      "admin:\n  port: 9990\n  port: 9991\nrouters:\n- protocol: h2\n  servers: [{port: 4142}]\n",
    );
    const r = l5d(["--check", p]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/dup/i);
    expect(r.stderr).toMatch(/port/);
  });

  it("refuses to start on a bad config, opening no port", () => {
    const p = file("bad2.yaml", "routers:\n- protocol: thrift\n  servers: [{port: 4142}]\n");
    const r = l5d([p]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("routers[0].protocol");
  });

  it("explains a missing POD_IP for io.l5d.k8s.localnode before starting", () => {
    const r = l5d(["--check", join(root, "deploy/examples/linkerd-grpc.yaml")], { POD_IP: "" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/POD_IP/);
  });

  it("prints usage for bad arguments", () => {
    const r = l5d(["--frobnicate"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown option --frobnicate");
    expect(r.stderr).toContain("Usage: l5d");
  });
});

/** Every Linkerd config shipped in deploy/: plain linkerd*.yaml files and ConfigMaps' config.yaml. */
function exampleConfigs(): Array<{ name: string; text: string }> {
  const out: Array<{ name: string; text: string }> = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) {
        if (n !== "node_modules") walk(p);
        continue;
      }
      if (!/\.ya?ml$/.test(n)) continue;
      const text = readFileSync(p, "utf8");
      if (text.startsWith("#notest")) continue;
      if (
        /^(linkerd|l5d)[-.\w]*\.ya?ml$/.test(n) &&
        /^routers:/m.test(text) &&
        !/^kind:/m.test(text)
      ) {
        out.push({ name: relative(root, p), text });
        continue;
      }
      for (const doc of text.split(/^---$/m)) {
        let obj: { kind?: string; data?: Record<string, string> } | undefined;
        try {
          obj = parseYaml(doc) as typeof obj;
        } catch {
          continue;
        }
        if (obj?.kind === "ConfigMap" && obj.data) {
          for (const [k, v] of Object.entries(obj.data)) {
            if (/routers:/.test(v)) out.push({ name: `${relative(root, p)}#${k}`, text: v });
          }
        }
      }
    }
  };
  walk(join(root, "deploy"));
  return out;
}

describe("example configs in deploy/", () => {
  const examples = exampleConfigs();
  it("there is at least the tutorial's", () => {
    expect(examples.map((e) => e.name)).toContain("deploy/examples/linkerd-grpc.yaml");
  });
  // io.l5d.fs rootDirs must exist (as in Linkerd): point them at a real directory
  const rootDir = mkdtempSync(join(tmpdir(), "l5d-disco-"));
  // the TLS edition's certificates Secret (/io.buoyant/linkerd/certs), made here
  const certs = makeLinkerdCerts(join(rootDir, "certs"));
  const env = {
    POD_IP: "10.0.0.5",
    NODE_NAME: "node-a",
    KUBERNETES_SERVICE_HOST: "127.0.0.1",
    KUBERNETES_SERVICE_PORT: "6443",
  };
  it.each(examples.map((e) => [e.name, e.text] as const))(
    "%s parses and builds",
    async (_name, text) => {
      const r = parseLinkerdConfig(
        text
          .replace(/rootDir: .*/g, `rootDir: ${rootDir}`)
          .replaceAll("/io.buoyant/linkerd/certs/", `${certs}/`),
        createRegistries(),
      );
      if (!r.ok) throw new Error(formatConfigErrors(r.errors));
      const b = buildPlugins(r.config, { log: pino({ level: "silent" }), env });
      expect(b.routers.length).toBeGreaterThan(0);
      for (const c of b.closers.reverse()) await c();
    },
  );
});

describe("the README's config reference", () => {
  it("names every registered plugin kind", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const missing: string[] = [];
    for (const [family, reg] of Object.entries(createRegistries())) {
      for (const kind of reg.kinds)
        if (!readme.includes(`\`${kind}\``)) missing.push(`${family}: ${kind}`);
    }
    expect(missing).toEqual([]);
  });
});
