// The docker compose topology and every l5d config shipped in deploy/: consistent addresses,
// the tutorial's dtab, and accepted by the real daemon (`l5d --check`).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeTestCerts } from "@l5d/h2-proxy/testing";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { readManifests } from "./manifests.js";
import { repoRoot } from "./repo-root.js";

// biome-ignore lint/suspicious/noExplicitAny: compose files and configs are untyped YAML
type Json = any;

const root = repoRoot();
const composeDir = join(root, "deploy", "compose");
const compose: Json = parse(readFileSync(join(composeDir, "docker-compose.yml"), "utf8"), {
  uniqueKeys: true,
  merge: true,
});
const NODE_A = "172.30.77.11";
const NODE_B = "172.30.77.12";

function l5dConfig(node: "a" | "b"): Json {
  return parse(readFileSync(join(composeDir, `l5d-${node}.yaml`), "utf8"), { uniqueKeys: true });
}
function dentries(dtab: string): string[] {
  return dtab
    .split(";")
    .map((d) => d.replace(/\s+/g, ""))
    .filter((d) => d !== "");
}

describe("docker compose topology", () => {
  it("two nodes with fixed addresses on the mesh subnet; each app in its node's network namespace", () => {
    const s = compose.services;
    expect(s["l5d-a"].networks.mesh.ipv4_address).toBe(NODE_A);
    expect(s["l5d-b"].networks.mesh.ipv4_address).toBe(NODE_B);
    expect(compose.networks.mesh.ipam.config[0].subnet).toBe("172.30.77.0/24");
    expect(s.hello.network_mode).toBe("service:l5d-a");
    expect(s.world.network_mode).toBe("service:l5d-b");
    expect(s.hello.environment.POD_IP).toBe(NODE_A);
    expect(s.world.environment).toEqual({ TARGET_WORLD: "world", POD_IP: NODE_B });
    expect(s.hello.command).toEqual([
      "-addr=:7777",
      "-text=Hello",
      `-target=${NODE_A}:4140`,
      "-protocol=grpc",
    ]);
    expect(s.world.command).toEqual(["-addr=:7778", "-protocol=grpc"]);
    expect(s.client.entrypoint).toEqual(["helloworld-client"]);
    expect(s.client.command).toEqual([`${NODE_A}:4140`]);
    expect(s.client.profiles).toEqual(["client"]);
    for (const n of ["l5d-a", "l5d-b"]) {
      expect(s[n].image).toBe("l5d-ts/l5d:0.1.0");
      expect(
        s[n].ports.some((p: string) => p.endsWith(":9990")),
        `${n} admin published`,
      ).toBe(true);
    }
    for (const n of ["hello", "world", "client"])
      expect(s[n].image).toBe("l5d-ts/helloworld:0.1.0");
  });

  it("io.l5d.fs files name the apps at their nodes' addresses", () => {
    expect(readFileSync(join(composeDir, "disco", "Hello"), "utf8")).toBe(`${NODE_A} 7777\n`);
    expect(readFileSync(join(composeDir, "disco", "world-v1"), "utf8")).toBe(`${NODE_B} 7778\n`);
  });

  it.each([
    ["a", NODE_A],
    ["b", NODE_B],
  ] as const)(
    "l5d-%s.yaml: the tutorial's routers and dtab over io.l5d.fs, localized to %s",
    (node, ip) => {
      const c = l5dConfig(node);
      expect(c.admin).toEqual({ ip: "0.0.0.0", port: 9990 });
      expect(c.namers).toEqual([{ kind: "io.l5d.fs", rootDir: "/disco" }]);
      expect(c.routers.map((r: Json) => [r.label, r.servers])).toEqual([
        ["outgoing", [{ port: 4140, ip: "0.0.0.0" }]],
        ["incoming", [{ port: 4141, ip: "0.0.0.0" }]],
      ]);
      for (const r of c.routers) {
        expect(r.protocol).toBe("h2");
        expect(r.identifier).toEqual({ kind: "io.l5d.header.path", segments: 1 });
        expect(dentries(r.dtab)).toEqual([
          "/srv=>/#/io.l5d.fs",
          "/grpc=>/srv",
          "/grpc/World=>/srv/world-v1",
          "/svc=>/$/io.buoyant.http.domainToPathPfx/grpc",
        ]);
      }
      expect(c.routers[0].interpreter.transformers).toEqual([{ kind: "io.l5d.port", port: 4141 }]);
      expect(c.routers[1].interpreter.transformers).toEqual([
        { kind: "io.l5d.specificHost", host: ip },
      ]);
    },
  );
});

for (const [bin, args] of [
  ["docker", ["compose", "config", "-q"]],
  ["docker-compose", ["config", "-q"]],
] as const) {
  const found = spawnSync(bin, ["--version"], { encoding: "utf8" }).status === 0;
  if (!found)
    console.warn(`SKIPPED: \`${bin} ${args.join(" ")}\` not checked: ${bin} is not installed`);
  describe.skipIf(!found)(`${bin} ${args.join(" ")}`, () => {
    it("accepts deploy/compose/docker-compose.yml", () => {
      const r = spawnSync(bin, args, { cwd: composeDir, encoding: "utf8", timeout: 30_000 });
      expect(r.stderr.trim()).toBe("");
      expect(r.status).toBe(0);
    });
  });
}

const l5dMain = join(root, "apps", "l5d", "dist", "main.js");
const haveL5d = existsSync(l5dMain);
if (!haveL5d)
  console.warn(`SKIPPED: \`l5d --check\` of the deploy configs: ${l5dMain} is not built`);

describe.skipIf(!haveL5d)("l5d --check accepts every config in deploy/", () => {
  const work = mkdtempSync(join(tmpdir(), "l5d-deploy-configs-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const configs: [string, string][] = [];
  // the TLS edition's Secret (made here: no certificate is committed), where its config reads it
  const certs = makeTestCerts();
  afterAll(() => certs.remove());
  const secret: Record<string, string> = {
    "/io.buoyant/linkerd/certs/cacertificate.pem": certs.caCert,
    "/io.buoyant/linkerd/certs/certificate.pem": certs.serverCert,
    "/io.buoyant/linkerd/certs/key.pk8": certs.serverKeyDer,
  };
  const withSecret = (text: string) => {
    let out = text;
    for (const [from, to] of Object.entries(secret)) out = out.replaceAll(from, to);
    return out;
  };
  for (const node of ["a", "b", "http-a", "http-b", "tls-a", "tls-b"]) {
    // the disco directory is mounted at /disco in the containers; here it is where it lives
    const text = readFileSync(join(composeDir, `l5d-${node}.yaml`), "utf8");
    expect(text).toContain("rootDir: /disco\n");
    const file = join(work, `l5d-${node}.yaml`);
    writeFileSync(
      file,
      withSecret(text.replace("rootDir: /disco\n", `rootDir: ${join(composeDir, "disco")}\n`)),
    );
    configs.push([`compose/l5d-${node}.yaml`, file]);
  }
  for (const f of [
    "k8s/linkerd-grpc.yml",
    "k8s/linkerd-grpc-kubectl-proxy.yml",
    "k8s-http/l5d-config.yml",
    "k8s-tls/l5d-config.yml",
    "k8s-hardened/l5d-config.yml",
  ]) {
    const cm: Json = readManifests(join(root, "deploy", f)).find((o) => o.kind === "ConfigMap");
    const file = join(work, `${f.replace("/", "_")}.config.yaml`);
    writeFileSync(file, withSecret(cm.data["config.yaml"]));
    configs.push([`${f} (ConfigMap l5d-config)`, file]);
  }

  it.each(configs)("%s", (_name, file) => {
    const r = spawnSync(process.execPath, [l5dMain, "--check", file], {
      encoding: "utf8",
      timeout: 30_000,
      // what the DaemonSet's pods have: POD_IP (localnode transformer) and the API service
      // address (inCluster; --check only validates, it connects to nothing)
      env: {
        ...process.env,
        POD_IP: "10.196.1.5",
        KUBERNETES_SERVICE_HOST: "127.0.0.1",
        KUBERNETES_SERVICE_PORT: "6443",
      },
    });
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/: ok\b/);
    expect(r.status).toBe(0);
  });
});
