/** io.l5d.inMemory: versions, conflicts, watches, and no growth from asking about missing namespaces. */
import { Activity, type ActivityState, Dtab } from "@l5d/dtab";
import { describe, expect, it } from "vitest";
import {
  DtabNamespaceAlreadyExistsError,
  DtabNamespaceDoesNotExistError,
  DtabVersionMismatchError,
  type VersionedDtab,
} from "./dtab-store.js";
import { InMemoryDtabStore } from "./in-memory-store.js";

const d = (t: string) => Dtab.read(t);

describe("InMemoryDtabStore", () => {
  it("is seeded, lists sorted, and versions every change", async () => {
    const s = new InMemoryDtabStore({ b: d("/b=>/c"), a: d("/a=>/b") });
    expect(await Activity.toPromise(s.list())).toEqual(["a", "b"]);
    const v1 = await Activity.toPromise(s.observe("a"));
    await s.put("a", d("/a=>/z"));
    const v2 = await Activity.toPromise(s.observe("a"));
    expect(v2?.dtab.show).toBe("/a=>/z");
    expect(v2?.version).not.toBe(v1?.version);
  });

  it("create refuses an existing namespace; update checks the version; delete refuses a missing one", async () => {
    const s = new InMemoryDtabStore({ a: d("/a=>/b") });
    await expect(s.create("a", d("/x=>/y"))).rejects.toBeInstanceOf(
      DtabNamespaceAlreadyExistsError,
    );
    const v = (await Activity.toPromise(s.observe("a")))!.version;
    await s.update("a", d("/a=>/c"), v);
    await expect(s.update("a", d("/a=>/d"), v)).rejects.toBeInstanceOf(DtabVersionMismatchError);
    expect((await Activity.toPromise(s.observe("a")))?.dtab.show).toBe("/a=>/c");
    await expect(s.update("nope", d("/a=>/d"), "1")).rejects.toBeInstanceOf(
      DtabNamespaceDoesNotExistError,
    );
    await s.delete("a");
    await expect(s.delete("a")).rejects.toBeInstanceOf(DtabNamespaceDoesNotExistError);
    expect(await Activity.toPromise(s.list())).toEqual([]);
  });

  it("an observer of a missing namespace sees it created, changed and deleted", async () => {
    const s = new InMemoryDtabStore();
    const seen: (string | null)[] = [];
    const sub = s.observe("later").observe((st: ActivityState<VersionedDtab | null>) => {
      if (st.kind === "ok") seen.push(st.value?.dtab.show ?? null);
    });
    await s.create("later", d("/a=>/b"));
    await s.put("later", d("/a=>/c"));
    await s.delete("later");
    sub.close();
    expect(seen).toEqual([null, "/a=>/b", "/a=>/c", null]);
  });

  it("asking about 10,000 missing namespaces leaves no trace", async () => {
    const s = new InMemoryDtabStore({ a: d("/a=>/b") });
    for (let i = 0; i < 10_000; i++) {
      expect(await Activity.toPromise(s.observe(`missing-${i}`))).toBeNull();
    }
    expect(s.cellCount).toBe(1);
  });
});
