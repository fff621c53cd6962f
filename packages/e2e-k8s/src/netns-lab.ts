/**
 * A tiny "data centre" of Linux network namespaces: one namespace per host, all wired to one
 * bridge that lives in its own switch namespace (so nothing is added to the root namespace:
 * no addresses, no routes, no bridge subject to the host's iptables). Needs root and `ip`.
 *
 *   [ns …-sw: bridge br0] ── veth ── [ns …-<host>: eth0 with the host's addresses]
 *
 * Every host gets its addresses on `eth0` plus on-link routes for the given prefixes, so all
 * hosts reach each other directly over the bridge (one flat L2 segment).
 */
import { spawnSync } from "node:child_process";

/** `ip` failed while building or tearing down the lab. */
export class NetnsCommandError extends Error {
  readonly code = "NETNS_COMMAND_FAILED";
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
  ) {
    super(`ip ${args.join(" ")} failed: ${stderr.trim()}`);
    this.name = "NetnsCommandError";
  }
}

/** Every namespace this module creates starts with this, then the creating process's pid. */
export const NETNS_PREFIX = "l5de2e-";

function ip(args: readonly string[]): string {
  const r = spawnSync("ip", args, { encoding: "utf8", timeout: 10_000 });
  if (r.error || r.status !== 0) {
    throw new NetnsCommandError(args, r.error ? String(r.error.message) : r.stderr);
  }
  return r.stdout;
}

/** Whether a pid is alive (signal 0). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Namespaces that a previous run (whose process is gone) left behind. */
export function staleNamespaces(): string[] {
  let out: string;
  try {
    out = ip(["netns", "list"]);
  } catch {
    return [];
  }
  return out
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => {
      const m = /^l5de2e-(\d+)-/.exec(n);
      return m !== null && !alive(Number(m[1]));
    });
}

/** Deletes a namespace after ending the processes that our (dead) run left in it. */
function deleteNamespace(ns: string): void {
  try {
    for (const pid of ip(["netns", "pids", ns]).split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // already gone
      }
    }
  } catch {
    // no such namespace
  }
  try {
    ip(["netns", "del", ns]);
  } catch {
    // already gone
  }
}

/** Whether this machine can run a lab: `{ ok: true }` or the reason it cannot. */
export function netnsAvailability(): { ok: true } | { ok: false; reason: string } {
  if (process.platform !== "linux")
    return { ok: false, reason: `platform is ${process.platform}, not linux` };
  if (process.getuid?.() !== 0)
    return { ok: false, reason: "not running as root (ip netns needs root)" };
  const probe = `${NETNS_PREFIX}${process.pid}-probe`;
  try {
    ip(["netns", "add", probe]);
    ip(["-n", probe, "link", "add", "br0", "type", "bridge"]);
    ip(["-n", probe, "link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  } finally {
    deleteNamespace(probe);
  }
}

/** One host of the lab. */
export interface LabHostSpec {
  /** Short name (letters/digits, ≤ 8 chars): the namespace is `l5de2e-<pid>-<name>`. */
  readonly name: string;
  /** Addresses in CIDR form (`10.244.1.2/24`); the first is the primary one. */
  readonly addresses: readonly string[];
}

/** Options of {@link NetnsLab.create}. */
export interface NetnsLabOptions {
  readonly hosts: readonly LabHostSpec[];
  /** Prefixes routed on-link via `eth0` on every host (e.g. the cluster's pod range `10.244.0.0/16`). */
  readonly onLinkRoutes?: readonly string[];
}

/** A built lab; {@link NetnsLab.destroy} removes every namespace, veth and the bridge. */
export class NetnsLab {
  readonly #namespaces: string[] = [];
  readonly #id = `${NETNS_PREFIX}${process.pid}`;

  private constructor() {}

  /** The namespace name of host `name`. */
  ns(name: string): string {
    return `${this.#id}-${name}`;
  }

  /** Builds the lab; on any failure removes what was built and rethrows. */
  static create(opts: NetnsLabOptions): NetnsLab {
    for (const ns of staleNamespaces()) deleteNamespace(ns);
    const lab = new NetnsLab();
    try {
      const sw = lab.#add("sw");
      ip(["-n", sw, "link", "add", "br0", "type", "bridge"]);
      ip(["-n", sw, "link", "set", "br0", "up"]);
      for (const [i, host] of opts.hosts.entries()) {
        const ns = lab.#add(host.name);
        const port = `p${i}`;
        ip(["-n", sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns]);
        ip(["-n", sw, "link", "set", port, "master", "br0", "up"]);
        ip(["-n", ns, "link", "set", "lo", "up"]);
        for (const a of host.addresses) ip(["-n", ns, "addr", "add", a, "dev", "eth0"]);
        ip(["-n", ns, "link", "set", "eth0", "up"]);
        for (const r of opts.onLinkRoutes ?? []) ip(["-n", ns, "route", "add", r, "dev", "eth0"]);
      }
      return lab;
    } catch (err) {
      lab.destroy();
      throw err;
    }
  }

  #add(name: string): string {
    const ns = this.ns(name);
    ip(["netns", "add", ns]);
    this.#namespaces.push(ns);
    return ns;
  }

  /** The lab's namespaces (for diagnostics). */
  get namespaces(): readonly string[] {
    return [...this.#namespaces];
  }

  /** Removes every namespace (the veths and the bridge go with them). Idempotent. */
  destroy(): void {
    for (const ns of this.#namespaces.splice(0).reverse()) deleteNamespace(ns);
  }
}
