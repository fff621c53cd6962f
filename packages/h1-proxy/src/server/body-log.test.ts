import { describe, expect, it } from "vitest";
import { BodyLog, type BodySink, type BodySource } from "./body-log.js";

/** A source that records whether the log has it paused (the client connection's reading). */
function source() {
  const calls: string[] = [];
  let paused = false;
  const s: BodySource = {
    pause() {
      paused = true;
      calls.push("pause");
    },
    resume() {
      paused = false;
      calls.push("resume");
    },
  };
  return { s, calls, paused: () => paused };
}

/** A sink that records what it got; `room` chunks are taken before it refuses (back-pressure). */
function sink(room = Number.POSITIVE_INFINITY) {
  const got: string[] = [];
  let ended = false;
  let left = room;
  let drain: (() => void) | undefined;
  const s: BodySink = {
    write(c: Buffer) {
      got.push(c.toString());
      left--;
      return left > 0;
    },
    end() {
      ended = true;
    },
    onDrain(f) {
      drain = f;
    },
  };
  return {
    s,
    got,
    ended: () => ended,
    /** The sink takes `n` more chunks and says so. */
    drain(n = Number.POSITIVE_INFINITY) {
      left = n;
      const f = drain;
      drain = undefined;
      f?.();
    },
  };
}

const b = (s: string) => Buffer.from(s);

describe("BodyLog", () => {
  it("holds what arrives before an attempt is attached (the source paused), then passes every chunk and the end", () => {
    const src = source();
    const log = new BodyLog(src.s, 100);
    log.push(b("ab"));
    expect(src.paused()).toBe(true);
    log.push(b("cd"));
    const s = sink();
    log.attach(s.s);
    expect(src.paused()).toBe(false);
    log.push(b("ef"));
    log.finish();
    expect(s.got).toEqual(["ab", "cd", "ef"]);
    expect(s.ended()).toBe(true);
    expect(log.ended).toBe(true);
    expect(log.bytes).toBe(6);
    expect(log.replayable).toBe(true);
  });

  it("replays what was received to a second attempt, then the rest as it comes", () => {
    const src = source();
    const log = new BodyLog(src.s, 100);
    const first = sink();
    log.attach(first.s);
    log.push(b("12"));
    log.detach();
    // between attempts the client is not read
    expect(src.paused()).toBe(true);
    log.push(b("34"));
    const second = sink();
    log.attach(second.s);
    log.push(b("56"));
    log.finish();
    expect(first.got).toEqual(["12"]);
    expect(first.ended()).toBe(false);
    expect(second.got).toEqual(["12", "34", "56"]);
    expect(second.ended()).toBe(true);
  });

  it("past the limit nothing is kept: not replayable, but the attached attempt gets it all", () => {
    const log = new BodyLog(source().s, 4);
    const s = sink();
    log.attach(s.s);
    log.push(b("abc"));
    log.push(b("def"));
    log.finish();
    expect(s.got.join("")).toBe("abcdef");
    expect(s.ended()).toBe(true);
    expect(log.replayable).toBe(false);
  });

  it("past the limit before any attempt: the first attempt still gets every byte (nothing dropped)", () => {
    const log = new BodyLog(source().s, 4);
    log.push(b("abc"));
    log.push(b("def"));
    expect(log.replayable).toBe(false);
    const s = sink();
    log.attach(s.s);
    log.push(b("g"));
    log.finish();
    expect(s.got.join("")).toBe("abcdefg");
    expect(s.ended()).toBe(true);
  });

  it("pauses the client while the attempt cannot take more, keeps what still arrives, and resumes on drain", () => {
    const src = source();
    const log = new BodyLog(src.s, 1 << 20);
    const s = sink(1);
    log.attach(s.s);
    log.push(b("a"));
    expect(src.paused()).toBe(true);
    // the rest of the socket read the parser was in
    log.push(b("b"));
    log.push(b("c"));
    log.finish();
    expect(s.got).toEqual(["a"]);
    expect(s.ended()).toBe(false);
    s.drain(1);
    // took one more, refused again: the rest waits
    expect(s.got).toEqual(["a", "b"]);
    expect(s.ended()).toBe(false);
    s.drain();
    expect(s.got).toEqual(["a", "b", "c"]);
    expect(s.ended()).toBe(true);
  });

  it("a body that ended before the attempt is attached ends the sink at attach, and never pauses the source again", () => {
    const src = source();
    const log = new BodyLog(src.s, 100);
    log.push(b("x"));
    log.finish();
    const calls = src.calls.length;
    const s = sink();
    log.attach(s.s);
    expect(s.got).toEqual(["x"]);
    expect(s.ended()).toBe(true);
    log.detach();
    expect(src.calls.length).toBe(calls);
  });

  it("a failed client connection makes the body not replayable", () => {
    const log = new BodyLog(source().s, 100);
    log.push(b("x"));
    log.fail(new Error("client gone"));
    expect(log.replayable).toBe(false);
  });

  it("a body given whole (streaming off) is replayable and ends each attempt", () => {
    const log = BodyLog.of([b("xy"), b("z")]);
    for (let i = 0; i < 2; i++) {
      const s = sink();
      log.attach(s.s);
      expect(s.got.join("")).toBe("xyz");
      expect(s.ended()).toBe(true);
      log.detach();
    }
    expect(log.replayable).toBe(true);
  });

  it("nothing is taken from the client until an attempt is attached; attached first, the client is never paused", () => {
    const src = source();
    const log = new BodyLog(src.s, 100);
    log.push(b("early"));
    expect(src.calls).toEqual(["pause"]);
    const late = source();
    const log2 = new BodyLog(late.s, 100);
    const s = sink();
    log2.attach(s.s);
    log2.push(b("a"));
    log2.push(b("b"));
    log2.finish();
    expect(late.calls).toEqual([]);
    expect(s.got).toEqual(["a", "b"]);
    expect(s.ended()).toBe(true);
  });

  it("chunks pushed while the source is paused are never dropped, whatever the order of attach and drain", () => {
    const src = source();
    const log = new BodyLog(src.s, 1 << 20);
    const sent: string[] = [];
    const next = () => {
      const c = `c${sent.length}`;
      sent.push(c);
      log.push(b(c));
    };
    // before any attempt
    next();
    next();
    const first = sink(2);
    log.attach(first.s);
    // refused at the second: paused, and the rest of the read keeps coming
    expect(src.paused()).toBe(true);
    next();
    next();
    first.drain(1);
    next();
    // the attempt ends; between attempts the source stays paused and chunks keep coming
    log.detach();
    expect(src.paused()).toBe(true);
    next();
    const second = sink(3);
    log.attach(second.s);
    next();
    second.drain();
    next();
    log.finish();
    expect(second.got).toEqual(sent);
    expect(second.ended()).toBe(true);
    expect(src.paused()).toBe(false);
    // the first got a prefix, in order, with nothing skipped
    expect(first.got).toEqual(sent.slice(0, first.got.length));
    expect(first.ended()).toBe(false);
  });

  it("a second attempt refusing during the replay gets the rest of the replay, then the new chunks, in order", () => {
    const src = source();
    const log = new BodyLog(src.s, 100);
    const first = sink();
    log.attach(first.s);
    for (const c of ["1", "2", "3"]) log.push(b(c));
    log.detach();
    const second = sink(2);
    log.attach(second.s);
    expect(second.got).toEqual(["1", "2"]);
    expect(src.paused()).toBe(true);
    log.push(b("4"));
    second.drain();
    expect(src.paused()).toBe(false);
    log.push(b("5"));
    log.finish();
    expect(second.got).toEqual(["1", "2", "3", "4", "5"]);
    expect(second.ended()).toBe(true);
  });

  it("going past the limit while the attempt is backed up: the attempt still gets every byte", () => {
    const src = source();
    const log = new BodyLog(src.s, 5);
    const s = sink(1);
    log.attach(s.s);
    log.push(b("abc"));
    log.push(b("def"));
    log.push(b("ghi"));
    expect(log.replayable).toBe(false);
    log.finish();
    s.drain();
    expect(s.got.join("")).toBe("abcdefghi");
    expect(s.ended()).toBe(true);
    expect(log.bytes).toBe(9);
  });

  it("at the limit exactly the body is still replayable; one byte more and it is not", () => {
    const at = new BodyLog(source().s, 4);
    at.push(b("ab"));
    at.push(b("cd"));
    expect(at.replayable).toBe(true);
    at.push(b("e"));
    expect(at.replayable).toBe(false);
  });

  it("detach takes the drain callback back from the attempt, which is written to no more", () => {
    const src = source();
    const log = new BodyLog(src.s, 100);
    const first = sink(1);
    log.attach(first.s);
    log.push(b("a"));
    log.detach();
    // detach took back the drain callback: a drain now reaches nobody
    first.drain();
    log.push(b("b"));
    expect(first.got).toEqual(["a"]);
    expect(src.paused()).toBe(true);
  });
});
