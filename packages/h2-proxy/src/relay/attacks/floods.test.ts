/**
 * The attack suite, floods (issue #14): each attack runs against the relay in a child process
 * (the built `relay-child.js`, RSS from /proc) for ~1.5 s from a worker thread, reconnecting
 * whenever it is closed, while a well-behaved client probes through the relay to a backend (a
 * worker thread) every 15 ms. Budgets (see `STRICT`): each attacker connection closed within
 * 100 ms of the relay crossing its limit; the child's RSS back within 5 MiB of its pre-attack
 * level (after a warm-up load) within 10 s; the probe's p99 at most 5× its unloaded p99
 * measured just before; no probe request lost. One JSON line of measurements per attack.
 */
import {
  DEFAULT_WINDOW,
  encodeFrame,
  encodeHeaderBlock,
  Flag,
  FrameType,
  SettingsId,
} from "@l5d/h2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setting, u32 } from "../../dataplane/test-support.js";
import { NARROW_WINDOW } from "../response-window.js";
import {
  type AttackOptions,
  type AttackRound,
  attack,
  type ChildMem,
  memOf,
  percentile,
  type RelayChild,
  rssOf,
  rssSettled,
  sleep,
  startBackend,
  startProbe,
  startRelayChild,
  warmLoad,
} from "./attack-rig.js";

/**
 * `L5D_ATTACK_BUDGETS=strict` asserts the budgets (a quiet runner: close within 100 ms,
 * RSS back within 5 MiB, p99 at most 5× unloaded); by default looser bounds that still catch a
 * relay that never closes, leaks or starves its clients (shared, loaded CI runners). The relay
 * child runs with the image's node flags and malloc settings (`attack-rig.ts`): with node's
 * defaults (16 MiB semi-spaces, one malloc arena per thread) RSS stays ~10 MiB up after most
 * attacks whatever the relay frees.
 */
const STRICT = process.env.L5D_ATTACK_BUDGETS === "strict";
const ATTACK_MS = 1_500;
const CLOSE_BUDGET_MS = STRICT ? 100 : 500;
const RSS_SLACK = (STRICT ? 5 : 24) * 1024 * 1024;
const RSS_SETTLE_MS = 10_000;
const P99_FACTOR = STRICT ? 5 : 10;
const P99_FLOOR_MS = STRICT ? 50 : 1_500;

let backend: Awaited<ReturnType<typeof startBackend>>;

beforeAll(async () => {
  backend = await startBackend();
});

afterAll(async () => {
  await backend?.close();
});

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

const GET = encodeHeaderBlock([
  [":method", "GET"],
  [":scheme", "http"],
  [":path", "/probe"],
  [":authority", "attack"],
]);
/** A request for the backend's large response. */
const BIG = encodeHeaderBlock([
  [":method", "GET"],
  [":scheme", "http"],
  [":path", "/big"],
  [":authority", "attack"],
]);
const POST = encodeHeaderBlock([
  [":method", "POST"],
  [":scheme", "http"],
  [":path", "/probe"],
  [":authority", "attack"],
]);

/** `n` copies of one frame, as one Buffer (built once, written many times). */
function repeat(frame: Buffer, n: number): { bytes: Buffer; frames: number } {
  return { bytes: Buffer.concat(Array.from({ length: n }, () => frame)), frames: n };
}

/** Per batch `n` streams with fresh ids: `frames(id)` each. */
function perStream(
  n: number,
  frames: (id: number) => Buffer,
): (i: number) => { bytes: Buffer; frames: number } {
  return (i) => {
    const parts: Buffer[] = [];
    for (let k = 0; k < n; k++) parts.push(frames(1 + 2 * (i * n + k)));
    return { bytes: Buffer.concat(parts), frames: n };
  };
}

interface Case {
  readonly limit: string | readonly string[];
  readonly child?: Record<string, unknown>;
  readonly attack: Omit<AttackOptions, "port" | "durationMs">;
  /**
   * An attack the relay makes harmless without closing it (no limit crossed): its one round
   * lasts the attack, and halfway through `during` checks the relay's state (open streams,
   * queued bytes) instead of the close being asserted.
   */
  readonly harmless?: (mid: ChildMem) => void;
}

interface Measured {
  rounds: AttackRound[];
  child: RelayChild;
}

async function run(name: string, c: Case): Promise<Measured> {
  const child = await startRelayChild(backend.port, c.child);
  try {
    await warmLoad(child.port, 1_000);
    // the unloaded p99 just before the attack, on the same relay (the runner's load included)
    const quiet = startProbe(child.port);
    await sleep(1_000);
    const unloaded = percentile((await quiet.stop()).latencies, 99);
    const base = rssOf(child.pid);
    const memBase = await memOf(child);
    const probe = startProbe(child.port);
    const t0 = performance.now();
    const mid =
      c.harmless === undefined ? undefined : sleep(ATTACK_MS / 2).then(() => memOf(child));
    const rounds = await attack({ ...c.attack, port: child.port, durationMs: ATTACK_MS });
    // the probe covers the whole attack window even when the attack's rounds end early (the
    // zero-window cases: 2 rounds of ~100 ms): ~100 samples, so its p99 is a percentile and not
    // the single slowest call
    await sleep(Math.max(50, ATTACK_MS - (performance.now() - t0)));
    const res = await probe.stop();
    const after = rssOf(child.pid);
    const memAfter = await memOf(child);
    // the relay keeps serving its well-behaved client after the attack (nothing is forced: its
    // garbage goes when that traffic's collections come)
    const after2 = startProbe(child.port);
    const settled = await rssSettled(child.pid, base, RSS_SLACK, RSS_SETTLE_MS);
    const res2 = await after2.stop();
    const names = typeof c.limit === "string" ? [c.limit] : c.limit;
    const events = child.limits.filter((e) => names.includes(e.name));
    // from the relay's crossing (its limit event) to the attacker seeing the close; the
    // attacker-side figure (from writing the crossing frame) also counts the kernel's backlog
    const closeMs = rounds.map((r, i) => r.closedWall - (events[i]?.at ?? Number.NaN));
    const fromWrite = rounds.map((r) => r.closeMs).filter((x) => !Number.isNaN(x));
    const p99 = percentile(res.latencies, 99);
    console.log(
      JSON.stringify({
        attack: name,
        rounds: rounds.length,
        closed: rounds.filter((r) => r.closed).length,
        frames: rounds.reduce((n, r) => n + r.frames, 0),
        limitEvents: child.limits.map((e) => e.name).slice(0, 3),
        closeMsMax: round(Math.max(...closeMs)),
        closeMsP50: round(percentile(closeMs, 50)),
        fromWriteMsMax: round(Math.max(...fromWrite)),
        rssBaseMiB: round(base / 2 ** 20),
        rssAfterMiB: round(after / 2 ** 20),
        rssSettledMiB: round(settled / 2 ** 20),
        heapMiB: [round(memBase.heapTotal / 2 ** 20), round(memAfter.heapTotal / 2 ** 20)],
        externalMiB: [round(memBase.external / 2 ** 20), round(memAfter.external / 2 ** 20)],
        probeN: res.latencies.length,
        probeP99: round(p99),
        unloadedP99: round(unloaded),
        failures: res.failures.slice(0, 3),
      }),
    );
    expect(rounds.length).toBeGreaterThan(0);
    if (c.harmless !== undefined) {
      // nothing to close: the connection lived its round, no limit fired, the relay's state
      // halfway through is the case's to check
      expect(rounds.some((r) => r.closed)).toBe(false);
      expect(child.limits).toEqual([]);
      c.harmless(await (mid as Promise<ChildMem>));
    } else {
      // every attacker connection was closed, by the expected limit, in time
      expect(rounds.every((r) => r.closed)).toBe(true);
      expect(events.length).toBeGreaterThanOrEqual(rounds.length);
      for (const ms of closeMs) expect(ms).toBeLessThanOrEqual(CLOSE_BUDGET_MS);
    }
    // memory back, the well-behaved client unharmed
    expect(settled - base).toBeLessThanOrEqual(RSS_SLACK);
    expect(res.failures).toEqual([]);
    expect(res2.failures).toEqual([]);
    expect(res.latencies.length).toBeGreaterThanOrEqual(5);
    expect(p99).toBeLessThanOrEqual(Math.max(P99_FACTOR * unloaded, P99_FLOOR_MS));
    return { rounds, child };
  } finally {
    await child.close();
  }
}

/**
 * The zero-window cases' attack: `setup` frames, then 200 requests for the large response
 * written at once; PRIORITY frames (ignored, not counted) keep the attacker writing until the
 * relay closes it or its round ends.
 */
function bigStreams(setup: Buffer[]): Pick<AttackOptions, "setup" | "batch"> {
  const opens = [...setup];
  for (let k = 0; k < 200; k++)
    opens.push(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1 + 2 * k, BIG));
  const prio = {
    bytes: encodeFrame(FrameType.PRIORITY, 0, 1_001, Buffer.from([0, 0, 0, 0, 16])),
    frames: 1,
  };
  return { setup: Buffer.concat(opens), batch: () => prio };
}

const T = 30_000;

describe("attack suite: floods (relay in a child process)", () => {
  it(
    "rapid reset (CVE-2023-44487): HEADERS + RST_STREAM pairs",
    async () => {
      await run("rapid_reset", {
        limit: "rapid_reset",
        attack: {
          read: true,
          batches: 100,
          batch: perStream(50, (id) =>
            Buffer.concat([
              encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, GET),
              encodeFrame(FrameType.RST_STREAM, 0, id, u32(8)),
            ]),
          ),
          crossAfter: 1_001,
        },
      });
    },
    T,
  );

  it(
    "PING flood (CVE-2019-9512), a client reading the ACKs",
    async () => {
      const ping = repeat(encodeFrame(FrameType.PING, 0, 0, Buffer.alloc(8)), 100);
      await run("ping_flood", {
        limit: "ping_flood",
        attack: { read: true, batch: () => ping, crossAfter: 1_001 },
      });
    },
    T,
  );

  it(
    "SETTINGS flood (CVE-2019-9515), a client reading the ACKs",
    async () => {
      const settings = repeat(encodeFrame(FrameType.SETTINGS, 0, 0, Buffer.alloc(0)), 20);
      await run("settings_flood", {
        limit: "settings_flood",
        attack: { read: true, batch: () => settings, crossAfter: 101 },
      });
    },
    T,
  );

  it(
    "PING flood from a client that never reads: the control-frame queue bound",
    async () => {
      const ping = repeat(encodeFrame(FrameType.PING, 0, 0, Buffer.alloc(8)), 1_000);
      await run("control_queue_ping", {
        limit: "control_queue",
        // rates out of the way: the queue bound is what closes it
        child: { limits: { maxPingsPerSecond: 1e9 } },
        // the kernel's socket buffers fill first (MBs): a few connections in the attack's time
        attack: {
          read: false,
          batch: () => ping,
          crossAfter: Number.POSITIVE_INFINITY,
          maxRounds: 3,
        },
      });
    },
    T,
  );

  it(
    "SETTINGS flood from a client that never reads (defaults: the rate limit closes it first)",
    async () => {
      const settings = repeat(encodeFrame(FrameType.SETTINGS, 0, 0, Buffer.alloc(0)), 1_000);
      await run("settings_flood_unread", {
        limit: ["settings_flood", "control_queue"],
        attack: {
          read: false,
          batch: () => settings,
          crossAfter: Number.POSITIVE_INFINITY,
        },
      });
    },
    T,
  );

  it(
    "empty DATA frames without END_STREAM (CVE-2019-9518)",
    async () => {
      const empty = repeat(encodeFrame(FrameType.DATA, 0, 1, Buffer.alloc(0)), 50);
      await run("empty_data", {
        limit: "empty_frames",
        attack: {
          read: true,
          setup: encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, POST),
          batch: () => empty,
          crossAfter: 101,
        },
      });
    },
    T,
  );

  it(
    "empty HEADERS fragments (CVE-2019-9518)",
    async () => {
      await run("empty_headers", {
        limit: "empty_frames",
        attack: {
          read: true,
          batches: 50,
          batch: perStream(20, (id) =>
            Buffer.concat([
              encodeFrame(FrameType.HEADERS, Flag.END_STREAM, id, Buffer.alloc(0)),
              encodeFrame(FrameType.CONTINUATION, Flag.END_HEADERS, id, GET),
            ]),
          ),
          crossAfter: 101,
        },
      });
    },
    T,
  );

  it(
    "CONTINUATION flood: empty CONTINUATION frames, and 1-byte ones",
    async () => {
      const setup = encodeFrame(FrameType.HEADERS, Flag.END_STREAM, 1, GET);
      const empty = repeat(encodeFrame(FrameType.CONTINUATION, 0, 1, Buffer.alloc(0)), 50);
      await run("continuation_empty", {
        limit: ["continuation_flood", "empty_frames"],
        attack: { read: true, setup, batch: () => empty, crossAfter: 17 },
      });
      const tiny = repeat(encodeFrame(FrameType.CONTINUATION, 0, 1, Buffer.from([0x82])), 50);
      await run("continuation_flood", {
        limit: "continuation_flood",
        attack: { read: true, setup, batch: () => tiny, crossAfter: 17 },
      });
    },
    2 * T,
  );

  it(
    "reset flood (CVE-2019-9514): streams provoking our RST_STREAM (WINDOW_UPDATE of 0)",
    async () => {
      await run("stream_errors", {
        limit: "stream_errors",
        attack: {
          read: true,
          batches: 50,
          batch: perStream(20, (id) =>
            Buffer.concat([
              encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, GET),
              encodeFrame(FrameType.WINDOW_UPDATE, 0, id, u32(0)),
            ]),
          ),
          crossAfter: 101,
        },
      });
    },
    T,
  );

  it(
    "data dribble (CVE-2019-9511): 1-byte WINDOW_UPDATEs with no DATA to answer",
    async () => {
      // (small DATA frames are not a limit: a unary gRPC response is one, tens of thousands a
      // second on a shared upstream connection; see limits.ts)
      const wu = repeat(encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, u32(1)), 1_000);
      await run("small_window_updates", {
        limit: "small_frames",
        attack: { read: true, batch: () => wu, crossAfter: 10_001 },
      });
    },
    T,
  );

  it(
    "zero-window / slow read (CVE-2019-9517): huge windows opened, a large response never read",
    async () => {
      const iws = setting(SettingsId.INITIAL_WINDOW_SIZE, 0x7fffffff);
      // PRIORITY frames (ignored, not counted) keep the attacker writing: it sees the reset
      const prio = {
        bytes: encodeFrame(FrameType.PRIORITY, 0, 3, Buffer.from([0, 0, 0, 0, 16])),
        frames: 1,
      };
      await run("buffered_bytes", {
        limit: "buffered_bytes",
        attack: {
          read: false,
          setup: Buffer.concat([
            encodeFrame(FrameType.SETTINGS, 0, 0, iws),
            encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, u32(0x7fffffff - 65_535)),
            encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, BIG),
          ]),
          batch: () => prio,
          crossAfter: Number.POSITIVE_INFINITY,
          roundMs: 5_000,
          maxRounds: 2,
        },
      });
    },
    T,
  );

  it(
    "zero-window (CVE-2019-9517): 200 streams asking for large responses, no stream window ever given: nothing is asked of the backend, nothing queued",
    async () => {
      const window0 = setting(SettingsId.INITIAL_WINDOW_SIZE, 0);
      // each upstream stream is given the window its client gives, none: the backend sends the
      // 200 responses' HEADERS and no DATA (it used to send 64 KiB each, queued here)
      await run("zero_window", {
        limit: [],
        child: { limits: { maxQueuedDataBytes: 8 << 20 } },
        attack: {
          read: true,
          ...bigStreams([encodeFrame(FrameType.SETTINGS, 0, 0, window0)]),
          crossAfter: Number.POSITIVE_INFINITY,
          roundMs: ATTACK_MS,
          maxRounds: 1,
        },
        harmless: (mid) => {
          expect(mid.streams).toBeGreaterThanOrEqual(200);
          expect(mid.bufferedBytes).toBe(0);
        },
      });
    },
    T,
  );

  it(
    "zero-window buffering (CVE-2019-9517): 200 streams asking for large responses, stream windows open, the connection window never given: 16 KiB asked per stream",
    async () => {
      // the client's stream windows are the default 65,535 and its connection window is never
      // opened: the first stream is given 64 KiB, which takes the connection's room; the 199
      // others 16 KiB each (`response-window.ts`): ~3.3 MiB queued here at most, under the
      // 8 MiB bound (1,000 streams, the concurrency limit, would reach 16 MiB, the default
      // bound: flow-isolation.test.ts closes such a client)
      await run("connection_window", {
        limit: [],
        child: { limits: { maxQueuedDataBytes: 8 << 20 } },
        attack: {
          read: true,
          ...bigStreams([]),
          crossAfter: Number.POSITIVE_INFINITY,
          roundMs: ATTACK_MS,
          maxRounds: 1,
        },
        harmless: (mid) => {
          expect(mid.streams).toBeGreaterThanOrEqual(200);
          expect(mid.bufferedBytes).toBeGreaterThan(0);
          expect(mid.bufferedBytes).toBeLessThanOrEqual(2 * DEFAULT_WINDOW + 199 * NARROW_WINDOW);
        },
      });
    },
    T,
  );
});
