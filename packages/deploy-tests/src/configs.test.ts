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

describe("docker compose with namerd (docker-compose.namerd.yml, -etcd.yml)", () => {
  const read = (f: string): Json =>
    parse(readFileSync(join(composeDir, f), "utf8"), { uniqueKeys: true, merge: true });
  const namerd = read("docker-compose.namerd.yml");

  it("the mesh of docker-compose.yml (same nodes, apps, commands and client) plus namerd, the l5ds on namerd's configs and waiting for it", () => {
    const s = namerd.services;
    expect(Object.keys(s).sort()).toEqual([...Object.keys(compose.services), "namerd"].sort());
    expect(namerd.networks).toEqual(compose.networks);
    for (const n of ["hello", "world", "client"]) expect(s[n]).toEqual(compose.services[n]);
    for (const n of ["a", "b"] as const) {
      const l5d = s[`l5d-${n}`];
      const base = compose.services[`l5d-${n}`];
      expect(l5d.networks).toEqual(base.networks);
      expect(l5d.ports).toEqual(base.ports);
      expect(l5d.volumes).toEqual([`./l5d-namerd-${n}.yaml:/config/config.yaml:ro`]);
      expect(l5d.depends_on).toEqual({ namerd: { condition: "service_healthy" } });
    }
    expect(s.namerd.image).toBe("l5d-ts/namerd:0.1.0");
    expect(s.namerd.build.target).toBe("namerd");
    expect(s.namerd.volumes).toEqual(["./namerd.yaml:/config/config.yaml:ro", "./disco:/disco:ro"]);
    expect(s.namerd.networks.mesh.ipv4_address).toMatch(/^172\.30\.77\./);
    expect(s.namerd.ports.map((p: string) => p.split(":").at(-1))).toEqual([
      "4180",
      "4321",
      "9991",
    ]);
  });

  it("namerd.yaml serves the tutorial's dtab (l5d-a.yaml's) over the same io.l5d.fs files; l5d-namerd-*.yaml are l5d-*.yaml binding through it", () => {
    const nd: Json = parse(readFileSync(join(composeDir, "namerd.yaml"), "utf8"), {
      uniqueKeys: true,
    });
    expect(nd.storage.kind).toBe("io.l5d.inMemory");
    expect(dentries(nd.storage.namespaces.default)).toEqual(
      dentries(l5dConfig("a").routers[0].dtab),
    );
    expect(nd.namers).toEqual([{ kind: "io.l5d.fs", rootDir: "/disco" }]);
    expect(nd.interfaces).toEqual([
      { kind: "io.l5d.httpController", ip: "0.0.0.0", port: 4180 },
      { kind: "io.l5d.mesh", ip: "0.0.0.0", port: 4321 },
    ]);
    expect(dentries(readFileSync(join(composeDir, "default.dtab"), "utf8"))).toEqual(
      dentries(nd.storage.namespaces.default),
    );
    for (const node of ["a", "b"] as const) {
      const c: Json = parse(readFileSync(join(composeDir, `l5d-namerd-${node}.yaml`), "utf8"), {
        uniqueKeys: true,
      });
      // l5d-<node>.yaml without its namers and dtabs, each interpreter asking namerd
      const expected = l5dConfig(node);
      delete expected.namers;
      for (const r of expected.routers) {
        delete r.dtab;
        r.interpreter = {
          kind: "io.l5d.namerd.http",
          experimental: true,
          dst: "/$/inet/namerd/4180",
          namespace: "default",
          retry: { baseSeconds: 1, maxSeconds: 10 },
          transformers: r.interpreter.transformers,
        };
      }
      expect(c).toEqual(expected);
    }
  });

  it("the etcd variant (an override): namerd on namerd-etcd.yaml (io.l5d.etcd at the etcd service), the dtab seeded before the l5ds start", () => {
    const s = read("docker-compose.namerd-etcd.yml").services;
    expect(Object.keys(s).sort()).toEqual(["dtab-seed", "etcd", "l5d-a", "l5d-b", "namerd"]);
    expect(s.etcd.build).toEqual({ context: "./etcd" });
    expect(readFileSync(join(composeDir, "etcd", "Dockerfile"), "utf8")).toMatch(
      /^FROM debian:bookworm-slim$/m,
    );
    expect(s.namerd.volumes).toEqual(["./namerd-etcd.yaml:/config/config.yaml:ro"]);
    expect(s.namerd.depends_on).toEqual({ etcd: { condition: "service_healthy" } });
    const nd: Json = parse(readFileSync(join(composeDir, "namerd-etcd.yaml"), "utf8"));
    expect(nd.storage).toEqual({
      kind: "io.l5d.etcd",
      experimental: true,
      host: "etcd",
      port: 2379,
      pathPrefix: "/namerd/dtabs",
    });
    expect(s["dtab-seed"].depends_on).toEqual({ namerd: { condition: "service_healthy" } });
    for (const n of ["l5d-a", "l5d-b"])
      expect(s[n]).toEqual({
        depends_on: { "dtab-seed": { condition: "service_completed_successfully" } },
      });
  });
});

for (const [bin, sub] of [
  ["docker", ["compose"]],
  ["docker-compose", []],
] as const) {
  const args = [...sub, "config", "-q"];
  const found = spawnSync(bin, ["--version"], { encoding: "utf8" }).status === 0;
  if (!found)
    console.warn(`SKIPPED: \`${bin} ${args.join(" ")}\` not checked: ${bin} is not installed`);
  describe.skipIf(!found)(`${bin} ${args.join(" ")}`, () => {
    it.each([
      ["docker-compose.yml"],
      ["docker-compose.namerd.yml"],
      ["docker-compose.namerd.yml + docker-compose.namerd-etcd.yml"],
    ])("accepts deploy/compose/%s", (files) => {
      const r = spawnSync(
        bin,
        [...sub, ...files.split(" + ").flatMap((f) => ["-f", f]), "config", "-q"],
        { cwd: composeDir, encoding: "utf8", timeout: 30_000 },
      );
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
  // the namerd variants have no namer of their own: checked as they are
  for (const node of ["namerd-a", "namerd-b"])
    configs.push([`compose/l5d-${node}.yaml`, join(composeDir, `l5d-${node}.yaml`)]);
  for (const f of [
    "k8s/linkerd-grpc.yml",
    "k8s/linkerd-grpc-kubectl-proxy.yml",
    "k8s-http/l5d-config.yml",
    "k8s-tls/l5d-config.yml",
    "k8s-hardened/l5d-config.yml",
    "k8s-namerd/l5d-config.yml",
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
