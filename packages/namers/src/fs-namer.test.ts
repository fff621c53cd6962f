import { mkdir, mkdtemp, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ActivityState,
  isBound,
  type Name,
  type NameBound,
  type NameTree,
  Path,
} from "@l5d/dtab";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { addrList, waitFor } from "./__tests__/wait.js";
import { parseAddrFile } from "./fs-addr-file.js";
import { FsNamer } from "./fs-namer.js";

let dir: string;
let namer: FsNamer | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "l5d-fs-"));
});
afterEach(async () => {
  namer?.close();
  namer = undefined;
  await rm(dir, { recursive: true, force: true });
});

function make(pollIntervalMs = 50): FsNamer {
  namer = new FsNamer({ rootDir: dir, idPrefix: Path.read("/#/io.l5d.fs"), pollIntervalMs });
  return namer;
}

const isOk = (s: ActivityState<NameTree<Name>>) => s.kind === "ok";
function leafOf(s: ActivityState<NameTree<Name>>): NameBound {
  if (s.kind !== "ok" || s.value.type !== "leaf" || !isBound(s.value.value)) {
    throw new Error(`not a bound leaf: ${JSON.stringify(s)}`);
  }
  return s.value.value;
}

describe("parseAddrFile", () => {
  it("reads host port, host port * weight, host port weight, comments and blank lines", () => {
    const r = parseAddrFile(
      "# hosts\n127.0.0.1 8080\n\n  10.0.0.1 9090 * 2.5  # heavy\n10.0.0.2 80 3\n",
      "svc",
    );
    expect(r.errors).toEqual([]);
    expect(r.lines).toEqual([
      { host: "127.0.0.1", port: 8080, line: 2 },
      { host: "10.0.0.1", port: 9090, weight: 2.5, line: 4 },
      { host: "10.0.0.2", port: 80, weight: 3, line: 5 },
    ]);
  });

  it("reports malformed lines by file:line and keeps the good ones", () => {
    const r = parseAddrFile(
      "127.0.0.1 1\nfoo\n127.0.0.1 99999\n127.0.0.1 2 x 3\n127.0.0.1 3 * -1\n127.0.0.1 4\n",
      "svc",
    );
    expect(r.lines.map((l) => l.port)).toEqual([1, 4]);
    expect(r.errors.map((e) => [e.line, e.message])).toEqual([
      [2, "malformed address: expected 'host port [* weight]'"],
      [3, "malformed address: bad port '99999'"],
      [4, "malformed address: expected 'host port * weight'"],
      [5, "malformed address: bad weight '-1'"],
    ]);
  });
});

describe("FsNamer", () => {
  it("binds a file to its addresses with id prefix ++ file name and the residual", async () => {
    await writeFile(join(dir, "hello"), "127.0.0.1 7777\nlocalhost 7778 * 2\n");
    const act = make().lookup(Path.read("/hello/helloworld"));
    const b = leafOf(await waitFor(act, isOk));
    expect(b.id.show).toBe("/#/io.l5d.fs/hello");
    expect(b.residual.show).toBe("/helloworld");
    const addr = await waitFor(b.addr, (a) => a.type === "bound");
    expect(addrList(addr)).toEqual(["127.0.0.1:7777", "127.0.0.1:7778*2"]);
  });

  it("is Neg for a missing file and for an empty path", async () => {
    const n = make();
    const s = await waitFor(n.lookup(Path.read("/nope")), isOk);
    expect(s.kind === "ok" && s.value.type).toBe("neg");
    const e = await waitFor(n.lookup(Path.empty), isOk);
    expect(e.kind === "ok" && e.value.type).toBe("neg");
  });

  it("applies changes live: modify, delete, re-create", async () => {
    await writeFile(join(dir, "svc"), "127.0.0.1 1\n");
    const act = make().lookup(Path.read("/svc"));
    const seen: string[] = [];
    const sub = act.observe((s) => seen.push(s.kind === "ok" ? s.value.type : s.kind));
    try {
      const b = leafOf(await waitFor(act, isOk));
      await waitFor(b.addr, (a) => JSON.stringify(addrList(a)) === '["127.0.0.1:1"]');
      await writeFile(join(dir, "svc"), "127.0.0.1 1\n127.0.0.1 2\n");
      await waitFor(b.addr, (a) => JSON.stringify(addrList(a)) === '["127.0.0.1:1","127.0.0.1:2"]');
      await unlink(join(dir, "svc"));
      await waitFor(act, (s) => s.kind === "ok" && s.value.type === "neg");
      await writeFile(join(dir, "svc"), "127.0.0.1 3\n");
      const b2 = leafOf(await waitFor(act, (s) => s.kind === "ok" && s.value.type === "leaf"));
      await waitFor(b2.addr, (a) => JSON.stringify(addrList(a)) === '["127.0.0.1:3"]');
      expect(seen).toContain("neg");
    } finally {
      sub.close();
    }
  });

  it("flips Neg to bound when a file appears (poll only, no watch events needed)", async () => {
    const act = make(30).lookup(Path.read("/late"));
    await waitFor(act, (s) => s.kind === "ok" && s.value.type === "neg");
    await writeFile(join(dir, "late"), "127.0.0.1 5\n");
    const b = leafOf(await waitFor(act, (s) => s.kind === "ok" && s.value.type === "leaf"));
    expect(addrList(await waitFor(b.addr, (a) => a.type === "bound"))).toEqual(["127.0.0.1:5"]);
  });

  it("reports malformed lines without dropping the good addresses, and clears them when fixed", async () => {
    await writeFile(
      join(dir, "mixed"),
      "127.0.0.1 1\nthis is not valid at all\n127.0.0.1 70000\n127.0.0.1 2\n",
    );
    const n = make();
    const b = leafOf(await waitFor(n.lookup(Path.read("/mixed")), isOk));
    const addr = await waitFor(b.addr, (a) => a.type === "bound");
    expect(addrList(addr)).toEqual(["127.0.0.1:1", "127.0.0.1:2"]);
    expect(
      n
        .errors()
        .get("mixed")
        ?.map((e) => e.line),
    ).toEqual([2, 3]);
    await writeFile(join(dir, "mixed"), "127.0.0.1 1\n");
    await waitFor(b.addr, (a) => JSON.stringify(addrList(a)) === '["127.0.0.1:1"]');
    expect(n.errors().size).toBe(0);
  });

  it("fails the address when every line is malformed, and binds an empty file to no addresses", async () => {
    await writeFile(join(dir, "bad"), "garbage\n");
    await writeFile(join(dir, "empty"), "# nobody home\n");
    const n = make();
    const bad = leafOf(await waitFor(n.lookup(Path.read("/bad")), isOk));
    const a = await waitFor(bad.addr, (x) => x.type !== "pending");
    expect(a.type).toBe("failed");
    expect(a.type === "failed" && a.cause.message).toContain("bad:1: malformed address");
    const empty = leafOf(await waitFor(n.lookup(Path.read("/empty")), isOk));
    expect(addrList(await waitFor(empty.addr, (x) => x.type !== "pending"))).toEqual([]);
  });

  it("recurses into directories", async () => {
    await mkdir(join(dir, "ns"));
    await writeFile(join(dir, "ns", "svc"), "127.0.0.1 9\n");
    const b = leafOf(await waitFor(make().lookup(Path.read("/ns/svc/rest")), isOk));
    expect(b.id.show).toBe("/#/io.l5d.fs/ns/svc");
    expect(b.residual.show).toBe("/rest");
    expect(addrList(await waitFor(b.addr, (a) => a.type === "bound"))).toEqual(["127.0.0.1:9"]);
  });

  it("releases watches when closed", async () => {
    await writeFile(join(dir, "svc"), "127.0.0.1 1\n");
    const n = make();
    const b = leafOf(await waitFor(n.lookup(Path.read("/svc")), isOk));
    await waitFor(b.addr, (a) => a.type === "bound");
    n.close();
    await writeFile(join(dir, "svc"), "127.0.0.1 2\n");
    await new Promise((r) => setTimeout(r, 150));
    expect(addrList(b.addr.sample())).toEqual(["127.0.0.1:1"]);
  });
});
