/**
 * l5d routing through namerd (`io.l5d.namerd.http`) on loopback, with real gRPC servers and
 * clients: the traffic-shift walkthrough (world-v1 → 90/10 → world-v2 through `l5d namerctl
 * dtab update`, zero failed calls), namerd stopped and restarted under load (zero failed calls,
 * routing continues with the last trees), and a linker that starts while namerd is down
 * (UNAVAILABLE naming namerd, then routing once namerd is up).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { callGreeting, createWorldClient, startHelloWorldServer } from "@l5d/helloworld";
import {
  createNamerdRegistries,
  parseNamerdConfig,
  type RunningNamerd,
  startNamerd,
} from "@l5d/namerd";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runNamerctl } from "../namerctl.js";
import { freePort, startTestDaemon, type TestDaemon } from "./support.js";

const IP = "127.0.0.1";
const work = mkdtempSync(join(tmpdir(), "l5d-namerd-"));
const stops: Array<() => PromiseLike<unknown>> = [];
const SEED_DTAB = [
  "/srv => /#/io.l5d.fs ;",
  "/grpc => /srv ;",
  "/grpc/World => /srv/world-v1 ;",
  "/svc => /$/io.buoyant.http.domainToPathPfx/grpc ;",
].join(" ");

let namerdPort: number;
let namerdThriftPort: number;
let namerdMeshPort: number;
let namerd: RunningNamerd | undefined;
let l5d: TestDaemon;

async function startNamerdOn(
  port: number,
  thriftPort = namerdThriftPort,
  meshPort = namerdMeshPort,
): Promise<RunningNamerd> {
  const parsed = parseNamerdConfig(
    `admin: {ip: ${IP}, port: 0}
storage:
  kind: io.l5d.inMemory
  namespaces:
    default: "${SEED_DTAB}"
namers:
- kind: io.l5d.fs
  rootDir: ${work}
interfaces:
- kind: io.l5d.httpController
  ip: ${IP}
  port: ${port}
- kind: io.l5d.thriftNameInterpreter
  ip: ${IP}
  port: ${thriftPort}
- kind: io.l5d.mesh
  ip: ${IP}
  port: ${meshPort}
`,
    createNamerdRegistries(),
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return startNamerd(parsed.config, pino({ level: "silent" }));
}

function linkerYaml(port: number, routerPort: number, interpreter = "io.l5d.namerd.http"): string {
  const ns = interpreter === "io.l5d.mesh" ? "root: /default" : "namespace: default";
  return `admin: {ip: ${IP}, port: 0}
routers:
- protocol: h2
  label: outgoing
  experimental: true
  identifier:
    kind: io.l5d.header.path
    segments: 1
  interpreter:
    kind: ${interpreter}
    experimental: true
    dst: /$/inet/${IP}/${port}
    ${ns}
    retry: {baseSeconds: 0.05, maxSeconds: 0.5}
  bindingTimeoutMs: 3000
  servers:
  - ip: ${IP}
    port: ${routerPort}
`;
}

async function namerctl(...args: string[]): Promise<void> {
  let err = "";
  const code = await runNamerctl(["--base-url", `http://${IP}:${namerdPort}`, ...args], {
    stdout: () => {},
    stderr: (s) => {
      err += s;
    },
    env: {},
  });
  if (code !== 0) throw new Error(`namerctl ${args.join(" ")}: ${err}`);
}

function dtabFile(name: string, worldDst: string): string {
  const f = join(work, name);
  writeFileSync(f, SEED_DTAB.replace("/srv/world-v1", worldDst));
  return f;
}

/**
 * Calls World through l5d from `workers` loops until stopped; tallies answers and failures.
 * Bounded: at most `maxCalls` calls and `maxMs` ms.
 */
function backgroundLoad(target: string, workers = 4, maxCalls = 20_000, maxMs = 60_000) {
  const client = createWorldClient(target);
  const answers: string[] = [];
  const failures: string[] = [];
  let stop = false;
  const deadline = Date.now() + maxMs;
  const loops = Array.from({ length: workers }, async () => {
    while (!stop && answers.length + failures.length < maxCalls && Date.now() < deadline) {
      try {
        answers.push(
          (await callGreeting(client, { service: "World", timeoutMs: 5_000 })).split(" ")[0]!,
        );
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
  });
  return {
    answers,
    failures,
    /** Resolves when `n` more answers have arrived after now (bounded by the load's own limits). */
    async next(n: number): Promise<string[]> {
      const from = answers.length;
      while (answers.length < from + n && !stop && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      return answers.slice(from, from + n);
    },
    async until(pred: (latest: string[]) => boolean, ms = 10_000): Promise<void> {
      const end = Date.now() + ms;
      while (!pred(answers.slice(-20))) {
        if (Date.now() > end)
          throw new Error(`condition not reached; last answers ${answers.slice(-5)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async stop(): Promise<void> {
      stop = true;
      await Promise.all(loops);
      client.close();
    },
  };
}

beforeAll(async () => {
  const v1 = await startHelloWorldServer({ addr: `${IP}:0`, text: "world", podIp: IP });
  stops.push(() => v1.close());
  const v2 = await startHelloWorldServer({ addr: `${IP}:0`, text: "earth", podIp: IP });
  stops.push(() => v2.close());
  writeFileSync(join(work, "world-v1"), `${IP} ${v1.port}\n`);
  writeFileSync(join(work, "world-v2"), `${IP} ${v2.port}\n`);
  namerdPort = await freePort();
  namerdThriftPort = await freePort();
  namerdMeshPort = await freePort();
  namerd = await startNamerdOn(namerdPort);
  l5d = await startTestDaemon(linkerYaml(namerdPort, await freePort()));
  stops.push(() => l5d[Symbol.asyncDispose]());
});

afterAll(async () => {
  while (stops.length) await stops.pop()!();
  await namerd?.close();
  rmSync(work, { recursive: true, force: true });
});

describe("l5d with io.l5d.namerd.http", () => {
  it("routes by the dtab namerd serves, and shows namerd's state on the admin page and in metrics", async () => {
    expect(await callGreeting(l5d.addr("outgoing"), { service: "World" })).toBe(`world (${IP})!`);
    const state = await (
      await fetch(`${l5d.adminUrl}/outgoing/interpreter_state/io.l5d.namerd.http/default.json`)
    ).json();
    expect(state).toMatchObject({
      namerd: `/$/inet/${IP}/${namerdPort}`,
      namespace: "default",
      address: `${IP}:${namerdPort}`,
      connected: true,
    });
    const m = await l5d.metrics();
    expect(m["rt/outgoing/interpreter/io.l5d.namerd.http/connected"]).toBe(1);
    expect(m["rt/outgoing/interpreter/io.l5d.namerd.http/streams"]).toBeGreaterThanOrEqual(2);
  });

  it("shifts traffic world-v1 → 90/10 → world-v2 with namerctl, with zero failed calls", async () => {
    const load = backgroundLoad(l5d.addr("outgoing"));
    try {
      const before = await load.next(200);
      expect(new Set(before)).toEqual(new Set(["world"]));

      await namerctl(
        "dtab",
        "update",
        "default",
        dtabFile("split.dtab", "9 * /srv/world-v1 & 1 * /srv/world-v2"),
      );
      await load.until((l) => l.includes("earth"));
      const split = await load.next(600);
      const earth = split.filter((a) => a === "earth").length;
      // 10 % of 600 is 60 (binomial sd ≈ 7): far outside [25, 110] only if the split is wrong
      expect(earth).toBeGreaterThan(25);
      expect(earth).toBeLessThan(110);
      expect(split.filter((a) => a === "world").length).toBe(600 - earth);

      await namerctl("dtab", "update", "default", dtabFile("v2.dtab", "/srv/world-v2"));
      await load.until((l) => l.length === 20 && l.every((a) => a === "earth"));
      const after = await load.next(200);
      expect(new Set(after)).toEqual(new Set(["earth"]));
    } finally {
      await load.stop();
    }
    expect(load.failures).toEqual([]);
    // back to the seed for the next tests
    await namerctl("dtab", "update", "default", dtabFile("v1.dtab", "/srv/world-v1"));
  });

  it("keeps routing with zero failures while namerd is stopped, and follows it once restarted", async () => {
    const load = backgroundLoad(l5d.addr("outgoing"));
    try {
      await load.until((l) => l.length === 20 && l.every((a) => a === "world"));
      await namerd!.close();
      namerd = undefined;
      const during = await load.next(300);
      expect(new Set(during)).toEqual(new Set(["world"]));
      expect((await l5d.metrics())["rt/outgoing/interpreter/io.l5d.namerd.http/connected"]).toBe(0);
      const state = (await (
        await fetch(`${l5d.adminUrl}/outgoing/interpreter_state/io.l5d.namerd.http/default.json`)
      ).json()) as { connected: boolean; lastError?: string };
      expect(state.connected).toBe(false);
      expect(state.lastError).toBeTruthy();
      namerd = await startNamerdOn(namerdPort);
      await namerctl("dtab", "update", "default", dtabFile("v2b.dtab", "/srv/world-v2"));
      await load.until((l) => l.length === 20 && l.every((a) => a === "earth"), 15_000);
    } finally {
      await load.stop();
    }
    expect(load.failures).toEqual([]);
    await namerctl("dtab", "update", "default", dtabFile("v1b.dtab", "/srv/world-v1"));
  });

  it("a linker started while namerd is down answers UNAVAILABLE naming namerd, then routes", async () => {
    const deadPort = await freePort();
    const late = await startTestDaemon(linkerYaml(deadPort, await freePort()));
    stops.push(() => late[Symbol.asyncDispose]());
    const err = await callGreeting(late.addr("outgoing"), { service: "World" }).catch(
      (e: { code?: number; details?: string }) => e,
    );
    expect(err).toMatchObject({ code: 14 });
    expect((err as { details: string }).details).toContain(`namerd /$/inet/${IP}/${deadPort}`);
    const second = await startNamerdOn(deadPort, await freePort(), await freePort());
    stops.push(() => second.close());
    const deadline = Date.now() + 10_000;
    let answer = "";
    while (Date.now() < deadline) {
      answer = await callGreeting(late.addr("outgoing"), { service: "World" }).catch(() => "");
      if (answer !== "") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(answer).toBe(`world (${IP})!`);
  });

  it.each([
    ["io.l5d.namerd", () => namerdThriftPort],
    ["io.l5d.mesh", () => namerdMeshPort],
  ] as const)(
    "a linker using %s routes through namerd and follows a dtab update",
    async (kind, portOf) => {
      const linker = await startTestDaemon(linkerYaml(portOf(), await freePort(), kind));
      stops.push(() => linker[Symbol.asyncDispose]());
      const target = linker.addr("outgoing");
      expect(await callGreeting(target, { service: "World" })).toBe(`world (${IP})!`);
      const state = (await (await fetch(`${linker.adminUrl}/routers.json`)).json()) as Array<{
        interpreter?: unknown;
      }>;
      expect(state[0]?.interpreter).toMatchObject({ connected: true });
      await namerctl("dtab", "update", "default", dtabFile(`${kind}.dtab`, "/srv/world-v2"));
      try {
        const deadline = Date.now() + 10_000;
        let answer = "";
        while (Date.now() < deadline) {
          answer = await callGreeting(target, { service: "World" });
          if (answer.startsWith("earth")) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        expect(answer).toBe(`earth (${IP})!`);
      } finally {
        await namerctl("dtab", "update", "default", dtabFile(`${kind}-back.dtab`, "/srv/world-v1"));
      }
    },
  );
});
