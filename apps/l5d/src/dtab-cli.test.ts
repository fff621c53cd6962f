import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runDtabCli } from "./dtab-cli.js";

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runDtabCli(args, {
    stdout: (s) => {
      out += s;
    },
    stderr: (s) => {
      err += s;
    },
  });
  return { code, out, err };
}

const HANDLER_DTAB =
  "/beh=>/#/error;/bah/humbug=>/$/inet/127.1/8080;/foo=>/bah | /beh | /$/fail;/foo=>/bar;/boo=>/foo;/meh=>/heh;/neg=>~";

describe("l5d dtab show", () => {
  it("prints the canonical form", async () => {
    const r = await run("show", " /a => /b ; # c\n /c=>0.5*/d & /e | ~ ;");
    expect(r).toEqual({ code: 0, out: "/a=>/b;/c=>0.50*/d & /e | ~\n", err: "" });
  });
  it("prints the parse error with a caret and exits 1", async () => {
    const r = await run("show", "/virtual/qa => /actual/{outage}");
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toBe(
      "invalid dtab (column 24): label char expected but '{' found at '/virtual/qa => /actual/[{]outage}'\n" +
        "  /virtual/qa => /actual/{outage}\n" +
        "                         ^\n",
    );
  });
});

describe("l5d dtab lookup", () => {
  it("prints the one-step tree", async () => {
    const r = await run("lookup", "--dtab", "/foo=>/a | /b;/foo=>/c", "/foo/x");
    expect(r).toEqual({ code: 0, out: "/c/x | (/a/x | /b/x)\n", err: "" });
    expect((await run("lookup", "--dtab=/a=>/b", "/z")).out).toBe("~\n");
  });
  it("reports a bad path", async () => {
    const r = await run("lookup", "--dtab", "/a=>/b", "a/b");
    expect(r.code).toBe(1);
    expect(r.err).toContain("invalid path (column 1): '/' expected but 'a' found at '[a]/b'");
  });
});

describe("l5d dtab delegate", () => {
  it("explains as an indented tree ending in the bound addresses", async () => {
    const r = await run("delegate", "--dtab", HANDLER_DTAB, "/boo/humbug");
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split("\n");
    expect(lines[0]).toBe("* /boo/humbug");
    expect(lines).toContain(
      "   ├─ /bar/humbug  via /foo=>/bar  ~ negative (nothing matches; falls back)",
    );
    expect(r.out).toContain(
      "* /$/inet/127.1/8080  via /bah/humbug=>/$/inet/127.1/8080  => bound /$/inet/127.1/8080, addresses 127.0.0.1:8080",
    );
    expect(lines.at(-2)).toBe("result: /$/inet/127.1/8080");
    expect(lines.at(-1)).toBe("  /$/inet/127.1/8080: addresses 127.0.0.1:8080");
  });
  it("explains why a name is negative", async () => {
    const r = await run("delegate", "--dtab", "/svc=>/nowhere", "/svc/x");
    expect(r.code).toBe(0);
    expect(r.out).toContain("/nowhere/x  via /svc=>/nowhere  ~ negative");
    expect(r.out).toContain("result: /svc/x is negative");
  });
  it("uses the rewriting namers", async () => {
    const r = await run(
      "delegate",
      "-d",
      "/grpc/Hello=>/$/inet/127.0.0.1/7777;/svc=>/$/io.buoyant.http.domainToPathPfx/grpc",
      "/svc/helloworld.Hello",
    );
    expect(r.out).toContain("result: /$/inet/127.0.0.1/7777");
    expect(r.out).toContain("residual /helloworld");
  });
  it("--json prints Linkerd's delegator.json", async () => {
    const r = await run("delegate", "--json", "--dtab", "/a=>/$/inet/127.1/80", "/a");
    expect(r.out).toBe(
      `{"type":"delegate","path":"/a","delegate":{"type":"leaf","path":"/$/inet/127.1/80","dentry":{"prefix":"/a","dst":"/$/inet/127.1/80"},"bound":{"addr":{"type":"bound","addrs":[{"ip":"127.0.0.1","port":80,"meta":{}}],"meta":{}},"id":"/$/inet/127.1/80","path":"/"}}}\n`,
    );
  });
});

describe("help and bad arguments", () => {
  it("prints help", async () => {
    const r = await run("--help");
    expect(r.code).toBe(0);
    expect(r.out).toContain("Usage: l5d dtab <command>");
    expect((await run("delegate", "--help")).out).toContain("delegate --dtab");
  });
  it("rejects unknown commands, options and missing arguments with exit 2", async () => {
    for (const args of [
      ["frobnicate"],
      ["show"],
      ["show", "--json", "/a=>/b"],
      ["lookup", "--dtab"],
      ["delegate", "--dtab", "/a=>/b"],
      [],
    ]) {
      const r = await run(...args);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/l5d dtab: |Usage/);
    }
  });
});

describe("the built l5d binary", () => {
  const main = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "main.js");
  it.skipIf(!existsSync(main))("runs `l5d dtab show`", async () => {
    const r = await new Promise<{ code: number; out: string; err: string }>((resolve) => {
      execFile(
        process.execPath,
        [main, "dtab", "show", "/a => /b;/c=>/d"],
        { timeout: 20_000 },
        (e, out, err) => resolve({ code: e ? Number(e.code ?? 1) : 0, out, err }),
      );
    });
    expect(r).toEqual({ code: 0, out: "/a=>/b;/c=>/d\n", err: "" });
    const bad = await new Promise<{ code: number; err: string }>((resolve) => {
      execFile(
        process.execPath,
        [main, "dtab", "show", "/a=>"],
        { timeout: 20_000 },
        (e, _out, err) => resolve({ code: e ? Number(e.code ?? 1) : 0, err }),
      );
    });
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("simple expected but end of input found at '/a=>[]'");
  });
});
