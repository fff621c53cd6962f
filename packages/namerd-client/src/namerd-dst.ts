/**
 * Where namerd is: an interpreter's `dst` (a Finagle path such as `/$/inet/namerd/4180`) bound
 * through the `/$` system namers, re-read on every connection attempt so a namerd that moves
 * (DNS, a restarted pod) is followed.
 */
import {
  Activity,
  type ActivityState,
  type Address,
  globalNamer,
  isBound,
  type Path,
  Var,
} from "@l5d/dtab";

/** The first address `dst` binds to now; rejects with a message naming `dst`. */
export async function resolveNamerd(dst: Path, timeoutMs = 5_000): Promise<Address> {
  const named = (e: Error) => new Error(`cannot resolve namerd at ${dst.show}: ${e.message}`);
  const tree = await Activity.toPromise(globalNamer.lookup(dst), timeoutMs).catch((e: Error) => {
    throw named(e);
  });
  if (tree.type !== "leaf" || !isBound(tree.value))
    throw named(new Error("it does not name one address"));
  // the first address, once the name's addresses are known (an empty set is waited out)
  const first = Var.map(tree.value.addr, (a): ActivityState<Address> => {
    if (a.type === "bound" && a.addrs[0]) return Activity.ok(a.addrs[0]);
    if (a.type === "neg") return Activity.failed(new Error("no such host"));
    if (a.type === "failed") return Activity.failed(a.cause);
    return Activity.pending;
  });
  return Activity.toPromise(first, timeoutMs).catch((e: Error) => {
    throw named(e);
  });
}
