#!/usr/bin/env node
/**
 * The `l5d` command: `l5d dtab …` inspects dtabs, `l5d namerctl …` manages namerd's dtabs;
 * anything else runs the daemon.
 */
import { runDtabCli } from "./dtab-cli.js";

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "dtab") {
    return runDtabCli(argv.slice(1), {
      stdout: (s) => process.stdout.write(s),
      stderr: (s) => process.stderr.write(s),
    });
  }
  if (argv[0] === "namerctl") {
    const { runNamerctl } = await import("./namerctl.js");
    return runNamerctl(argv.slice(1), {
      stdout: (s) => process.stdout.write(s),
      stderr: (s) => process.stderr.write(s),
      env: process.env,
    });
  }
  const { runDaemon } = await import("./daemon.js");
  return runDaemon(argv);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`l5d: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
