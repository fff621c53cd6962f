import { describe, expect, it } from "vitest";
import { formatGoFlagUsage, GoFlagError, type GoFlagSpec, parseGoFlags } from "./go-flags.js";

const spec = {
  addr: { type: "string", default: ":7777", usage: "address to serve on" },
  json: { type: "bool", default: false, usage: "json replies" },
  latency: { type: "duration", default: 0, usage: "sleep" },
  "failure-rate": { type: "float", default: 0, usage: "rate" },
  n: { type: "int", default: 1, usage: "count" },
  metadata: { type: "list", default: [], usage: "pairs" },
} as const satisfies GoFlagSpec;

function err(argv: string[]): GoFlagError {
  try {
    parseGoFlags(argv, spec);
  } catch (e) {
    if (e instanceof GoFlagError) return e;
    throw e;
  }
  throw new Error("expected a GoFlagError");
}

describe("parseGoFlags", () => {
  it("returns defaults when no flags are given", () => {
    const r = parseGoFlags([], spec);
    expect(r.values).toEqual({
      addr: ":7777",
      json: false,
      latency: 0,
      "failure-rate": 0,
      n: 1,
      metadata: [],
    });
    expect(r.positionals).toEqual([]);
    expect(r.given.size).toBe(0);
  });

  it.each([[["-addr=:7778"]], [["-addr", ":7778"]], [["--addr", ":7778"]], [["--addr=:7778"]]])(
    "accepts the Go forms %j",
    (argv) => {
      const r = parseGoFlags(argv, spec);
      expect(r.values.addr).toBe(":7778");
      expect([...r.given]).toEqual(["addr"]);
    },
  );

  it("parses bools, durations, floats and ints", () => {
    const r = parseGoFlags(
      ["-json", "-latency=1m30s", "-failure-rate", "0.25", "--n=12", "-addr=127.0.0.1:0"],
      spec,
    );
    expect(r.values).toMatchObject({
      json: true,
      latency: 90_000,
      "failure-rate": 0.25,
      n: 12,
      addr: "127.0.0.1:0",
    });
    expect(parseGoFlags(["-json=false"], spec).values.json).toBe(false);
    expect(parseGoFlags(["-json=T"], spec).values.json).toBe(true);
    expect(parseGoFlags(["-failure-rate=1e-1"], spec).values["failure-rate"]).toBe(0.1);
  });

  it("does not let a bool flag consume the next argument", () => {
    const r = parseGoFlags(["-json", "true", "-n=3"], spec);
    expect(r.values.json).toBe(true);
    expect(r.values.n).toBe(1);
    expect(r.positionals).toEqual(["true", "-n=3"]);
  });

  it("lets a string flag take a value starting with a dash, last occurrence wins", () => {
    const r = parseGoFlags(["-addr", "-x", "-addr=:1"], spec);
    expect(r.values.addr).toBe(":1");
  });

  it("collects list flags", () => {
    const r = parseGoFlags(["-metadata", "a=1", "--metadata=b=2"], spec);
    expect(r.values.metadata).toEqual(["a=1", "b=2"]);
  });

  it("stops at the first positional or at --, unless interspersed", () => {
    expect(parseGoFlags(["host:1", "-json"], spec).positionals).toEqual(["host:1", "-json"]);
    expect(parseGoFlags(["--", "-json"], spec).positionals).toEqual(["-json"]);
    expect(parseGoFlags(["-", "-json"], spec).positionals).toEqual(["-", "-json"]);
    const r = parseGoFlags(["host:1", "-json"], spec, { interspersed: true });
    expect(r.positionals).toEqual(["host:1"]);
    expect(r.values.json).toBe(true);
  });

  it("rejects bad command lines with Go's messages", () => {
    expect(err(["-nope"])).toMatchObject({
      code: "undefined_flag",
      message: "flag provided but not defined: -nope",
    });
    expect(err(["-addr"])).toMatchObject({
      code: "missing_argument",
      message: "flag needs an argument: -addr",
    });
    expect(err(["-latency=5x"])).toMatchObject({
      code: "invalid_value",
      message: 'invalid value "5x" for flag -latency: parse error',
    });
    expect(err(["-failure-rate=abc"]).message).toBe(
      'invalid value "abc" for flag -failure-rate: parse error',
    );
    expect(err(["-n=1.5"]).code).toBe("invalid_value");
    expect(err(["-json=yes"]).message).toBe('invalid boolean value "yes" for -json: parse error');
    expect(err(["---addr"])).toMatchObject({
      code: "bad_syntax",
      message: "bad flag syntax: ---addr",
    });
    expect(err(["-h"]).code).toBe("help");
    expect(err(["--help"]).code).toBe("help");
  });
});

describe("formatGoFlagUsage", () => {
  it("prints Go's PrintDefaults layout, sorted, with non-zero defaults", () => {
    expect(
      formatGoFlagUsage({
        text: { type: "string", default: "Hello", usage: "text to serve" },
        json: { type: "bool", default: false, usage: "json" },
        latency: { type: "duration", default: 1500, usage: "sleep" },
      }),
    ).toBe(
      '  -json\n    \tjson\n  -latency duration\n    \tsleep (default 1.5s)\n  -text string\n    \ttext to serve (default "Hello")\n',
    );
  });
});
