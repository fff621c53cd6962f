/**
 * Micro-benchmark (not a test): ops/s for parsing, one-step lookup, and full binding and
 * delegation of the tutorial dtab and of a 1,000-dentry dtab.
 * Run: pnpm --filter @l5d/dtab bench
 */
import {
  Activity,
  Addr,
  address,
  createDefaultInterpreter,
  Dtab,
  type Name,
  NameBound,
  type Namer,
  NameTree,
  Path,
  Var,
} from "../src/index.js";

const TUTORIAL =
  "/srv=>/#/io.l5d.k8s/default/grpc;/grpc=>/srv;/grpc/World=>/srv/world-v1;/svc=>/$/io.buoyant.http.domainToPathPfx/grpc";

/** A static stand-in for io.l5d.k8s: /<ns>/<port>/<svc> bound to one address. */
const k8s: Namer = {
  lookup(path) {
    if (path.size < 3) return Activity.value<NameTree<Name>>(NameTree.neg);
    const id = Path.of("#", "io.l5d.k8s").concat(path.take(3));
    return Activity.value<NameTree<Name>>(
      NameTree.leaf(
        new NameBound(id, Var.value(Addr.bound([address("127.0.0.1", 8080)])), path.drop(3)),
      ),
    );
  },
};

function big(n: number): string {
  const entries: string[] = [];
  for (let i = 0; i < n; i++)
    entries.push(`/svc/service-${i}=>/#/io.l5d.k8s/ns-${i % 10}/grpc/service-${i}`);
  entries.push("/svc/*/canary=>/$/nil");
  return entries.join(";");
}

async function measure(
  name: string,
  minMs: number,
  f: () => unknown | Promise<unknown>,
): Promise<void> {
  for (let i = 0; i < 50; i++) await f(); // warm-up
  let ops = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < 20; i++) await f();
    ops += 20;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  const perSec = (ops / elapsed) * 1000;
  console.log(
    `${name.padEnd(44)} ${Math.round(perSec).toLocaleString("en-US").padStart(12)} ops/s`,
  );
}

async function main(): Promise<void> {
  const minMs = Number(process.env.BENCH_MS ?? 1000);
  const interp = createDefaultInterpreter([{ prefix: Path.read("/#/io.l5d.k8s"), namer: k8s }]);
  const tut = Dtab.read(TUTORIAL);
  const bigText = big(1000);
  const bigDtab = Dtab.read(bigText);
  const tutPath = Path.read("/svc/helloworld.World");
  const bigPath = Path.read("/svc/service-500/x");
  const bindOnce = (d: Dtab, p: Path) => Activity.toPromise(interp.bind(d, p));
  console.log(
    `tutorial → ${NameTree.show(await bindOnce(tut, tutPath))}; 1000 → ${NameTree.show(await bindOnce(bigDtab, bigPath))}`,
  );
  console.log(`node ${process.version}, ${minMs} ms per case`);
  await measure("parse tutorial dtab", minMs, () => Dtab.read(TUTORIAL));
  await measure("parse 1000-dentry dtab", minMs, () => Dtab.read(bigText));
  await measure("show 1000-dentry dtab", minMs, () => new Dtab(bigDtab.dentries).show);
  await measure("lookup (tutorial, /svc/helloworld.World)", minMs, () => tut.lookup(tutPath));
  await measure("lookup (1000 dentries)", minMs, () => bigDtab.lookup(bigPath));
  await measure("bind (tutorial)", minMs, () => bindOnce(tut, tutPath));
  await measure("bind (1000 dentries)", minMs, () => bindOnce(bigDtab, bigPath));
  await measure("delegate (tutorial)", minMs, () => interp.delegate(tut, tutPath));
  await measure("delegate (1000 dentries)", minMs, () => interp.delegate(bigDtab, bigPath));
}

void main();
