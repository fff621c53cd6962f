import { PassThrough, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { BodyLog } from "./body-log.js";

/** A sink that records what it got and can refuse more (back-pressure). */
function sink(highWaterMark = 1 << 20) {
  const got: Buffer[] = [];
  let ended = false;
  const w = new Writable({
    highWaterMark,
    write(c: Buffer, _e, cb) {
      got.push(c);
      cb();
    },
    final(cb) {
      ended = true;
      cb();
    },
  });
  return { w, got, ended: () => ended };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("BodyLog", () => {
  it("reads nothing until an attempt is attached, then passes every chunk and the end", async () => {
    const src = new PassThrough();
    const log = new BodyLog(src, 100);
    src.write("ab");
    src.end("cd");
    await tick();
    expect(log.bytes).toBe(0);
    const s = sink();
    log.attach(s.w);
    await tick();
    await tick();
    expect(Buffer.concat(s.got).toString()).toBe("abcd");
    expect(s.ended()).toBe(true);
    expect(log.ended).toBe(true);
    expect(log.replayable).toBe(true);
  });

  it("replays what was received to a second attempt, then the rest as it comes", async () => {
    const src = new PassThrough();
    const log = new BodyLog(src, 100);
    const first = sink();
    log.attach(first.w);
    src.write("12");
    await tick();
    log.detach();
    src.write("34");
    await tick();
    const second = sink();
    log.attach(second.w);
    src.end("56");
    await tick();
    await tick();
    expect(Buffer.concat(first.got).toString()).toBe("12");
    expect(Buffer.concat(second.got).toString()).toBe("123456");
    expect(second.ended()).toBe(true);
  });

  it("past the limit nothing is kept: not replayable, but the attached attempt gets it all", async () => {
    const src = new PassThrough();
    const log = new BodyLog(src, 4);
    const s = sink();
    log.attach(s.w);
    src.write("abc");
    src.end("def");
    await tick();
    await tick();
    expect(Buffer.concat(s.got).toString()).toBe("abcdef");
    expect(log.replayable).toBe(false);
  });

  it("pauses the client while the attempt cannot take more", async () => {
    const src = new PassThrough({ highWaterMark: 1 });
    const log = new BodyLog(src, 1 << 20);
    let release: (() => void) | undefined;
    const got: Buffer[] = [];
    const slow = new Writable({
      highWaterMark: 1,
      write(c: Buffer, _e, cb) {
        got.push(c);
        release = cb;
      },
    });
    log.attach(slow);
    src.write("a");
    await tick();
    src.write("b");
    src.write("c");
    await tick();
    expect(got.map(String)).toEqual(["a"]);
    expect(src.isPaused()).toBe(true);
    release?.();
    await tick();
    expect(got.length).toBeGreaterThan(1);
  });

  it("a body given whole (streaming off) is replayable and ends each attempt", async () => {
    const log = BodyLog.of([Buffer.from("xy"), Buffer.from("z")], new PassThrough());
    for (let i = 0; i < 2; i++) {
      const s = sink();
      log.attach(s.w);
      await tick();
      expect(Buffer.concat(s.got).toString()).toBe("xyz");
      expect(s.ended()).toBe(true);
    }
    expect(log.replayable).toBe(true);
  });
});
