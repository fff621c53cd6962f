/**
 * `l5d namerctl` against a real namerd on loopback (inMemory storage): every command, the
 * version check of `dtab update`, clear errors for missing namespaces, bad dtabs and an
 * unreachable namerd.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createNamerdRegistries,
  parseNamerdConfig,
  type RunningNamerd,
  startNamerd,
} from "@l5d/namerd";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runNamerctl } from "./namerctl.js";

let namerd: RunningNamerd;
let base: string;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "namerctl-"));
  const parsed = parseNamerdConfig(
    `admin: {port: 0}
storage:
  kind: io.l5d.inMemory
  namespaces:
    default: /svc => /#/io.l5d.fs
interfaces:
- kind: io.l5d.httpController
  port: 0
`,
    createNamerdRegistries(),
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  namerd = await startNamerd(parsed.config, pino({ level: "silent" }));
  base = `http://127.0.0.1:${namerd.interfaces[0]!.port}`;
});
afterAll(async () => {
  await namerd?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function ctl(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runNamerctl(["--base-url", base, ...args], {
    stdout: (s) => {
      out += s;
    },
    stderr: (s) => {
      err += s;
    },
    env: {},
  });
  return { code, out, err };
}

function file(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe("l5d namerctl dtab", () => {
  it("list prints one namespace per line, --json a JSON list", async () => {
    expect(await ctl("dtab", "list")).toEqual({ code: 0, out: "default\n", err: "" });
    expect((await ctl("dtab", "list", "--json")).out).toBe('["default"]\n');
  });

  it("get prints the version and the dentries", async () => {
    const r = await ctl("dtab", "get", "default");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^# version \S+\n\/svc => \/#\/io\.l5d\.fs;\n$/);
    const j = JSON.parse((await ctl("dtab", "get", "default", "--json")).out);
    expect(j).toMatchObject({
      namespace: "default",
      dtab: [{ prefix: "/svc", dst: "/#/io.l5d.fs" }],
    });
  });

  it("create, update and delete a namespace", async () => {
    const f1 = file("a.dtab", "/svc => /$/inet/127.0.0.1/1;\n");
    expect(await ctl("dtab", "create", "team", f1)).toEqual({
      code: 0,
      out: "created team\n",
      err: "",
    });
    const again = await ctl("dtab", "create", "team", f1);
    expect(again.code).toBe(1);
    expect(again.err).toContain("already exists");
    const f2 = file("b.dtab", "/svc => /$/inet/127.0.0.1/2;\n");
    expect((await ctl("dtab", "update", "team", f2)).code).toBe(0);
    expect((await ctl("dtab", "get", "team")).out).toContain("/svc => /$/inet/127.0.0.1/2;");
    expect(await ctl("dtab", "delete", "team")).toEqual({
      code: 0,
      out: "deleted team\n",
      err: "",
    });
    const gone = await ctl("dtab", "get", "team");
    expect(gone).toEqual({ code: 1, out: "", err: "namerctl: namespace 'team' does not exist\n" });
  });

  it("update with a stale --version is refused and changes nothing", async () => {
    await ctl("dtab", "create", "edit", file("e0.dtab", "/a => /b"));
    const before = (await ctl("dtab", "get", "edit")).out;
    const version = /^# version (\S+)/.exec(before)![1]!;
    expect(
      (await ctl("dtab", "update", "edit", file("e1.dtab", "/a => /c"), "--version", version)).code,
    ).toBe(0);
    const stale = await ctl(
      "dtab",
      "update",
      "edit",
      file("e2.dtab", "/a => /d"),
      "--version",
      version,
    );
    expect(stale.code).toBe(1);
    expect(stale.err).toContain("changed since version");
    expect((await ctl("dtab", "get", "edit")).out).toContain("/a => /c;");
  });

  it("a bad dtab is refused with the parse error", async () => {
    const r = await ctl("dtab", "update", "default", file("bad.dtab", "/svc => "));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/update failed: 400 invalid dtab: /);
  });

  it("an unreachable namerd and usage errors are reported clearly", async () => {
    let err = "";
    const code = await runNamerctl(["--base-url", "http://127.0.0.1:1", "dtab", "list"], {
      stdout: () => {},
      stderr: (s) => {
        err += s;
      },
      env: {},
    });
    expect(code).toBe(1);
    expect(err).toContain("cannot reach namerd at http://127.0.0.1:1");
    expect((await ctl("dtab", "get")).code).toBe(2);
    expect((await ctl("frob")).code).toBe(2);
  });
});
