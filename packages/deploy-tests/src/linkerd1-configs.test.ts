// Config compatibility as a number: `l5d --check` on every Linkerd 1 router config of
// linkerd/linkerd-examples (../shared/linkerd1-configs, read in place, never copied). Prints how
// many load as they are, how many load given the environment only their deployment had (the
// io.l5d.fs `rootDir` directories, the TLS certificate files its Secret mounted), and why each
// other one does not; fails on a config that no longer loads or on a refusal whose reason is not
// a known missing feature.
import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { makeTestCerts } from "@l5d/h2-proxy/testing";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "./repo-root.js";

const run = promisify(execFile);
const root = repoRoot();
const corpus = join(root, "..", "shared", "linkerd1-configs");
const l5dMain = join(root, "apps", "l5d", "dist", "main.js");
const ready = existsSync(corpus) && existsSync(l5dMain);
if (!ready)
  console.warn(
    `SKIPPED: Linkerd 1 config corpus: ${existsSync(corpus) ? `${l5dMain} is not built` : `${corpus} is missing`}`,
  );

/**
 * Why a config may not load yet: features of other issues (namerd, more namers) and files of
 * another product. Anything else is a regression.
 */
const KNOWN_GAPS: readonly [RegExp, string][] = [
  [/unknown namer kind 'io\.l5d\.marathon'/, "io.l5d.marathon namer"],
  [/unknown namer kind 'io\.l5d\.consul'/, "io.l5d.consul namer"],
  [
    /admin\.metricsIntervalSecs: unknown key/,
    "linkerd-tcp (another product; its own config format)",
  ],
];

interface Checked {
  readonly file: string;
  readonly ok: boolean;
  readonly out: string;
}

async function check(file: string): Promise<Checked> {
  try {
    const r = await run(process.execPath, [l5dMain, "--check", file], {
      encoding: "utf8",
      timeout: 30_000,
      env: { ...process.env, POD_IP: "10.196.1.5", NODE_NAME: "node-a" },
    });
    return { file, ok: true, out: r.stdout };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string };
    return { file, ok: false, out: `${x.stdout ?? ""}${x.stderr ?? ""}` };
  }
}

/** Runs `f` over `items`, `n` at a time. */
async function pool<T, R>(items: readonly T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await f(items[i] as T);
      }
    }),
  );
  return out;
}

describe.skipIf(!ready)("Linkerd 1 configs of linkerd-examples", () => {
  const work = mkdtempSync(join(tmpdir(), "l5d-linkerd1-"));
  const certs = makeTestCerts();
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
    certs.remove();
  });
  /** A stand-in for a certificate file a config names, by what the key holds. */
  const certFor = (key: string, path: string): string =>
    key === "keyPath"
      ? path.endsWith(".pk8")
        ? certs.serverKeyDer
        : certs.serverKey
      : key === "certPath"
        ? certs.serverCert
        : certs.caCert;

  it("load with `l5d --check`, apart from known missing features", {
    timeout: 120_000,
  }, async () => {
    const files = readdirSync(corpus)
      .filter((f) => f !== "README.md")
      .sort();
    expect(files.length).toBe(39);
    const first = await pool(files, 4, (f) => check(join(corpus, f)));
    // the io.l5d.fs rootDir each one's deployment mounted: made here, the config pointed at it
    const second = await pool(first, 4, async (c) => {
      if (c.ok || !/rootDir: no such directory|cannot read \//.test(c.out)) return c;
      const dir = join(work, c.file.split("/").pop() as string);
      mkdirSync(dir, { recursive: true });
      const file = `${dir}.yaml`;
      const text = readFileSync(c.file, "utf8")
        .replace(/rootDir:\s*\S+/g, `rootDir: ${dir}`)
        .replace(
          /(certPath|keyPath|caCertPath):\s*(\/\S+)/g,
          (_m, k: string, p: string) => `${k}: ${certFor(k, p)}`,
        )
        .replace(
          /^(\s*)- (\/\S+\.(?:pem|crt))\s*$/gm,
          (_m, sp: string, p: string) => `${sp}- ${certFor("trustCerts", p)}`,
        );
      writeFileSync(file, text);
      const again = await check(file);
      return { ...again, file: c.file };
    });
    const asIs = first.filter((c) => c.ok).length;
    const withEnv = second.filter((c) => c.ok).length;
    const gaps = new Map<string, string[]>();
    const unexplained: string[] = [];
    for (const c of second) {
      if (c.ok) continue;
      const name = c.file.split("/").pop() as string;
      const known = KNOWN_GAPS.find(([re]) => re.test(c.out));
      if (known === undefined) unexplained.push(`${name}:\n${c.out}`);
      else gaps.set(known[1], [...(gaps.get(known[1]) ?? []), name]);
    }
    const lines = [
      `Linkerd 1 configs: ${asIs} of ${files.length} load as they are; ${withEnv} of ${files.length} with the files their deployment had (io.l5d.fs directories, TLS certificates)`,
      ...[...gaps].map(([why, names]) => `  ${names.length} need ${why}: ${names.join(", ")}`),
    ];
    console.log(lines.join("\n"));
    expect(unexplained).toEqual([]);
    // the floor: every config that loads today keeps loading
    expect(asIs).toBeGreaterThanOrEqual(25);
    expect(withEnv).toBeGreaterThanOrEqual(32);
  });
});
