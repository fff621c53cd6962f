/**
 * Where namerd is: an interpreter's `dst` (a Finagle path such as `/$/inet/namerd/4180`) bound
 * through the `/$` system namers, re-read on every connection attempt so a namerd that moves
 * (DNS, a restarted pod) is followed.
 */
import { Activity, type Address, globalNamer, isBound, type Path, Var } from "@l5d/dtab";

/** The first address `dst` binds to now; rejects with a message naming `dst`. */
export async function resolveNamerd(dst: Path, timeoutMs = 5_000): Promise<Address> {
  const tree = await Activity.toPromise(globalNamer.lookup(dst), timeoutMs).catch((e: Error) => {
    throw new Error(`cannot resolve namerd at ${dst.show}: ${e.message}`);
  });
  if (tree.type !== "leaf" || !isBound(tree.value))
    throw new Error(`cannot resolve namerd at ${dst.show}: it does not name one address`);
  const addrVar = tree.value.addr;
  const addr = await new Promise<Address>((resolve, reject) => {
    let done = false;
    let sub: { close(): void } | undefined;
    const timer = setTimeout(() => finish(() => reject(new Error("no address yet"))), timeoutMs);
    const finish = (k: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      queueMicrotask(() => sub?.close());
      k();
    };
    sub = Var.map(addrVar, (a) => a).observe((a) => {
      if (a.type === "bound" && a.addrs[0]) {
        const first = a.addrs[0];
        finish(() => resolve(first));
      } else if (a.type === "neg") finish(() => reject(new Error("no such host")));
      else if (a.type === "failed") finish(() => reject(a.cause));
    });
    if (done) sub.close();
  }).catch((e: Error) => {
    throw new Error(`cannot resolve namerd at ${dst.show}: ${e.message}`);
  });
  return addr;
}
