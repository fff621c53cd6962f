#!/usr/bin/env node
// `pnpm images`: builds the l5d-ts images with whatever engine `docker` / DOCKER_HOST points at,
// then prints their sizes.
//
//   node scripts/images.mjs [--mode=full|prebuilt] [--only=l5d|helloworld|namerd] [--repo=l5d-ts]
//                           [--tag=0.1.0] [--no-cache] [--skip-build] [--quiet]
//
// --mode=full (default): deploy/docker/Dockerfile, everything built inside the engine
//   (pnpm fetch from the lockfile, offline install, turbo build, pnpm deploy --prod).
// --mode=prebuilt: builds and `pnpm deploy`s the apps on this machine into a temporary context,
//   then packs them with deploy/docker/Dockerfile.prebuilt (no registry access needed inside
//   the engine; fast). --skip-build packs the apps' current dist/ without running turbo first.
// --repo sets the image repository prefix, e.g. --repo=registry.example.com/l5d-ts.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) {
      console.error(`unknown argument ${a}`);
      process.exit(2);
    }
    return [m[1], m[2] ?? "true"];
  }),
);
const mode = args.mode ?? "full";
const repo = args.repo ?? "l5d-ts";
const tag = args.tag ?? "0.1.0";
const quiet = args.quiet === "true";
if (!["full", "prebuilt"].includes(mode)) {
  console.error(`--mode must be full or prebuilt, not ${mode}`);
  process.exit(2);
}

/** The images: name → the Dockerfile target and the workspace apps it holds. */
const IMAGES = {
  l5d: { apps: ["l5d"] },
  helloworld: { apps: ["hello", "world", "helloworld-client"] },
  namerd: { apps: ["namerd"] },
};
const selected = args.only ? args.only.split(",") : Object.keys(IMAGES);
for (const s of selected) {
  if (!(s in IMAGES)) {
    console.error(`--only: unknown image ${s} (known: ${Object.keys(IMAGES).join(", ")})`);
    process.exit(2);
  }
}

function run(cmd, argv, opts = {}) {
  if (!quiet) console.log(`$ ${cmd} ${argv.join(" ")}`);
  const r = spawnSync(cmd, argv, {
    cwd: root,
    stdio: quiet ? ["ignore", "ignore", "inherit"] : "inherit",
    ...opts,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    console.error(`${cmd} ${argv[0]} failed with exit code ${r.status}`);
    process.exit(r.status ?? 1);
  }
}
function capture(cmd, argv) {
  const r = spawnSync(cmd, argv, { cwd: root, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const env = { ...process.env };
// No BuildKit needed (and none on podman-backed engines): the classic builder handles the file.
env.DOCKER_BUILDKIT ??= "0";
const revision = capture("git", ["rev-parse", "HEAD"]) ?? "unknown";
const labels = [
  "--build-arg",
  `VERSION=${tag}`,
  "--build-arg",
  `REVISION=${revision}`,
  "--build-arg",
  `CREATED=${new Date().toISOString()}`,
];
const noCache = args["no-cache"] === "true" ? ["--no-cache"] : [];

let context = root;
let dockerfile = join(root, "deploy/docker/Dockerfile");
if (mode === "prebuilt") {
  const apps = [...new Set(selected.flatMap((s) => IMAGES[s].apps))];
  // --skip-build: pack the apps' current dist/ as they are
  if (args["skip-build"] !== "true")
    run(
      "pnpm",
      [
        "exec",
        "turbo",
        "run",
        "build",
        "--output-logs=errors-only",
        ...apps.map((a) => `--filter=@l5d/${a}...`),
      ],
      { env },
    );
  context = mkdtempSync(join(tmpdir(), "l5d-images-"));
  process.on("exit", () => rmSync(context, { recursive: true, force: true }));
  for (const a of apps) {
    run(
      "pnpm",
      [
        "--filter",
        `@l5d/${a}`,
        "--prod",
        "--offline",
        // self-contained output whether or not the workspace itself injects its packages
        "--config.inject-workspace-packages=true",
        "deploy",
        join(context, a),
      ],
      {
        env,
      },
    );
  }
  run("sh", [join(root, "deploy/docker/prune-deploy.sh"), ...apps.map((a) => join(context, a))]);
  cpSync(join(root, "deploy/docker/bin"), join(context, "bin"), { recursive: true });
  dockerfile = join(root, "deploy/docker/Dockerfile.prebuilt");
}

const started = Date.now();
for (const name of selected) {
  const t0 = Date.now();
  run(
    "docker",
    [
      "build",
      "-f",
      dockerfile,
      "--target",
      name,
      "-t",
      `${repo}/${name}:${tag}`,
      ...labels,
      ...noCache,
      context,
    ],
    { env },
  );
  if (!quiet)
    console.log(`built ${repo}/${name}:${tag} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

console.log(`\nimages (${mode} build, ${((Date.now() - started) / 1000).toFixed(1)} s):`);
for (const name of selected) {
  const ref = `${repo}/${name}:${tag}`;
  const size = Number(capture("docker", ["image", "inspect", "--format", "{{.Size}}", ref]));
  console.log(`  ${ref.padEnd(40)} ${(size / 1e6).toFixed(1)} MB`);
}
