/**
 * l5d's `io.l5d.namerd.http` interpreter against a real namerd on loopback: binding through
 * namerd, a dtab change reaching the interpreter's Activity without a restart, endpoint
 * changes streaming, namerd going away (last tree kept, state disconnected) and coming back on
 * the same port (updates resume), and a bind before namerd ever answered failing with a
 * message that names namerd.
 */
import { Activity, type ActivityState, Dtab, type NameBound, type NameTree, Path } from "@l5d/dtab";
import { NamerdHttpInterpreter } from "@l5d/namerd-client";
import { afterAll, describe, expect, it } from "vitest";
import { startTestNamerd, type TestNamerd } from "./namerd-testkit.js";

const cleanup: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

function interpreterFor(port: number, namespace = "default") {
  return new NamerdHttpInterpreter({
    dst: Path.read(`/$/inet/127.0.0.1/${port}`),
    namespace,
    retry: { baseMs: 50, maxMs: 200 },
  });
}

/** Observes an Activity; `until` waits (bounded) for a state matching `pred`. */
function watch<T>(a: Activity<T>) {
  let last: ActivityState<T> = Activity.pending;
  const waiters: Array<() => void> = [];
  const sub = a.observe((s) => {
    last = s;
    for (const w of waiters.splice(0)) w();
  });
  cleanup.push(() => sub.close());
  return {
    get state() {
      return last;
    },
    async until(pred: (s: ActivityState<T>) => boolean, ms = 5_000): Promise<ActivityState<T>> {
      const deadline = Date.now() + ms;
      while (!pred(last)) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out; last state ${JSON.stringify(last)}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, Math.min(left, 100));
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
      return last;
    },
    close: () => sub.close(),
  };
}

const leafId = (s: ActivityState<NameTree<NameBound>>) =>
  s.kind === "ok" && s.value.type === "leaf" ? s.value.value.id.show : undefined;

function startNamerd(): Promise<TestNamerd> {
  return startTestNamerd("", "  namespaces:\n    default: /svc => /#/io.l5d.fs\n");
}

describe("io.l5d.namerd.http", () => {
  it("binds through namerd, and a dtab change in namerd re-binds without a restart", async () => {
    const n = await startNamerd();
    cleanup.push(() => n.close());
    n.writeDisco("hello", "127.0.0.1 7001\n");
    n.writeDisco("world", "127.0.0.1 7002\n");
    const port = Number(new URL(n.api).port);
    const interp = interpreterFor(port);
    const w = watch(interp.bind(Dtab.empty, Path.read("/svc/hello")));
    await w.until((s) => leafId(s) === "/#/io.l5d.fs/hello");
    const s = w.state;
    if (s.kind !== "ok" || s.value.type !== "leaf") throw new Error("expected a leaf");
    expect(s.value.value.addr.sample()).toMatchObject({
      type: "bound",
      addrs: [{ host: "127.0.0.1", port: 7001 }],
    });
    const r = await fetch(`${n.api}/api/1/dtabs/default`, {
      method: "PUT",
      body: "/svc => /#/io.l5d.fs; /svc/hello => /#/io.l5d.fs/world",
      headers: { "content-type": "application/dtab" },
    });
    expect(r.status).toBe(204);
    await w.until((st) => leafId(st) === "/#/io.l5d.fs/world");
    expect(interp.state()).toMatchObject({ connected: true, namespace: "default" });
  });

  it("sends the router's dtab (base + l5d-dtab) to namerd", async () => {
    const n = await startNamerd();
    cleanup.push(() => n.close());
    n.writeDisco("hello", "127.0.0.1 7001\n");
    n.writeDisco("other", "127.0.0.1 7003\n");
    const interp = interpreterFor(Number(new URL(n.api).port));
    const w = watch(
      interp.bind(Dtab.read("/svc/hello => /#/io.l5d.fs/other"), Path.read("/svc/hello")),
    );
    await w.until((s) => leafId(s) === "/#/io.l5d.fs/other");
  });

  it("streams endpoint changes into the bound name's addresses", async () => {
    const n = await startNamerd();
    cleanup.push(() => n.close());
    n.writeDisco("hello", "127.0.0.1 7001\n");
    const interp = interpreterFor(Number(new URL(n.api).port));
    const w = watch(interp.bind(Dtab.empty, Path.read("/svc/hello")));
    const s = await w.until((st) => leafId(st) !== undefined);
    if (s.kind !== "ok" || s.value.type !== "leaf") throw new Error("expected a leaf");
    const ports: number[] = [];
    const sub = s.value.value.addr.observe((a) => {
      if (a.type === "bound") ports.push(...a.addrs.map((x) => x.port));
    });
    cleanup.push(() => sub.close());
    n.writeDisco("hello", "127.0.0.1 7009\n");
    const deadline = Date.now() + 10_000;
    while (!ports.includes(7009) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(ports).toContain(7009);
  });

  it("keeps the last tree while namerd is down, and resumes when it is back on the same port", async () => {
    let n = await startNamerd();
    n.writeDisco("hello", "127.0.0.1 7001\n");
    const port = Number(new URL(n.api).port);
    const interp = interpreterFor(port);
    const w = watch(interp.bind(Dtab.empty, Path.read("/svc/hello")));
    await w.until((s) => leafId(s) === "/#/io.l5d.fs/hello");
    await n.close();
    const deadline = Date.now() + 5_000;
    while (interp.state().connected && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(interp.state().connected).toBe(false);
    expect(interp.state().lastError).toBeTruthy();
    expect(leafId(w.state)).toBe("/#/io.l5d.fs/hello");
    // a new namerd on the same port, with a different dtab: the stream reconnects and sees it
    n = await startTestNamerd(
      "",
      "  namespaces:\n    default: /svc => /#/io.l5d.fs; /svc/hello => /#/io.l5d.fs/world\n",
      port,
    );
    cleanup.push(() => n.close());
    n.writeDisco("world", "127.0.0.1 7002\n");
    await w.until((s) => leafId(s) === "/#/io.l5d.fs/world", 10_000);
    expect(interp.state().connected).toBe(true);
  });

  it("fails a bind namerd never answered with a message naming namerd, and recovers when it starts", async () => {
    const probe = await startNamerd();
    const port = Number(new URL(probe.api).port);
    await probe.close();
    const interp = interpreterFor(port);
    const w = watch(interp.bind(Dtab.empty, Path.read("/svc/hello")));
    const s = await w.until((st) => st.kind === "failed");
    if (s.kind !== "failed") throw new Error("expected failed");
    expect(s.error.message).toContain(`namerd /$/inet/127.0.0.1/${port}`);
    expect(s.error.message).toMatch(/unavailable/);
    const n = await startTestNamerd("", "  namespaces:\n    default: /svc => /#/io.l5d.fs\n", port);
    cleanup.push(() => n.close());
    n.writeDisco("hello", "127.0.0.1 7001\n");
    await w.until((st) => leafId(st) === "/#/io.l5d.fs/hello", 10_000);
  });

  it("releases namerd's streams when the last observer leaves", async () => {
    const n = await startNamerd();
    cleanup.push(() => n.close());
    n.writeDisco("hello", "127.0.0.1 7001\n");
    const interp = interpreterFor(Number(new URL(n.api).port));
    const a = interp.bind(Dtab.empty, Path.read("/svc/hello"));
    const w1 = watch(a);
    const w2 = watch(interp.bind(Dtab.empty, Path.read("/svc/hello")));
    await w1.until((s) => leafId(s) !== undefined);
    await w2.until((s) => leafId(s) !== undefined);
    expect(interp.state().streams).toBe(1);
    w1.close();
    w2.close();
    expect(interp.state().streams).toBe(0);
  });
});
