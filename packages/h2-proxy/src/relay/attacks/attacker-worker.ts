/**
 * Attack-suite support: the attacker in a worker thread, so that its writes (and the ACKs it
 * reads back) never delay the probe client's event loop in the test's main thread. `workerData`
 * is `AttackPlan`; one `AttackRound` per connection is posted back, then `null`.
 */
import { connect, type Socket } from "node:net";
import { parentPort, workerData } from "node:worker_threads";

export interface AttackPlan {
  readonly port: number;
  /** The attacker reads what it is sent (false: a peer that never reads). */
  readonly read: boolean;
  /** Bytes written first (preface, SETTINGS, setup frames). */
  readonly hello: Uint8Array;
  /** The attack, in batches written one per turn; `repeat`: cycled, else written once. */
  readonly batches: readonly Uint8Array[];
  readonly framesPerBatch: readonly number[];
  readonly repeat: boolean;
  /** Frames after which the limit is crossed (the attacker-side close time starts there). */
  readonly crossAfter: number;
  readonly durationMs: number;
  readonly roundMs: number;
  readonly maxRounds: number;
}

export interface AttackRound {
  /** ms from writing the batch that crossed `crossAfter` frames to seeing the close (NaN: none). */
  readonly closeMs: number;
  /** Frames written on the connection before it closed. */
  readonly frames: number;
  /** The connection was closed by the relay (else the round hit its time bound). */
  readonly closed: boolean;
  /** Wall-clock time (Date.now()) the close was seen: compared with the child's limit events. */
  readonly closedWall: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function once(p: AttackPlan): Promise<AttackRound> {
  const socket: Socket = connect(p.port, "127.0.0.1");
  socket.setNoDelay(true);
  socket.on("error", () => {});
  let closedAt = 0;
  let closedWall = 0;
  const onClose = (): void => {
    if (closedAt !== 0) return;
    closedAt = performance.now();
    closedWall = Date.now();
  };
  socket.once("end", onClose);
  socket.once("close", onClose);
  await new Promise<void>((r) => {
    socket.once("connect", () => r());
    socket.once("close", () => r());
  });
  if (!p.read) socket.pause();
  else socket.on("data", () => {});
  socket.write(p.hello);
  const deadline = performance.now() + p.roundMs;
  let frames = 0;
  let crossedAt = 0;
  const n = p.batches.length;
  // bounded by the round's deadline and by 1,000,000 batches
  for (let i = 0; i < 1_000_000 && closedAt === 0 && performance.now() < deadline; i++) {
    if (!p.repeat && i >= n) break;
    if (socket.writableLength > 256 * 1024) {
      await sleep(1);
      continue;
    }
    socket.write(p.batches[i % n] as Uint8Array);
    frames += p.framesPerBatch[i % n] as number;
    if (crossedAt === 0 && frames >= p.crossAfter) crossedAt = performance.now();
    await new Promise((r) => setImmediate(r));
  }
  // wait for the close (bounded by the round's deadline)
  while (closedAt === 0 && performance.now() < deadline) await sleep(2);
  socket.destroy();
  return {
    closeMs: closedAt === 0 || crossedAt === 0 ? Number.NaN : closedAt - crossedAt,
    frames,
    closed: closedAt !== 0,
    closedWall,
  };
}

if (parentPort !== null && workerData !== undefined) {
  const p = workerData as AttackPlan;
  const port = parentPort;
  const end = performance.now() + p.durationMs;
  for (let i = 0; i < p.maxRounds && performance.now() < end; i++) port.postMessage(await once(p));
  port.postMessage(null);
}
