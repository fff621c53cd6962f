/**
 * `namerd [--check] [--log-level=<level>] <config.yaml | ->`: validates the config (every
 * error by key path; nothing starts on a bad config), starts namerd, and runs until
 * SIGINT/SIGTERM or `POST /admin/shutdown`.
 */
import { readFileSync } from "node:fs";
import { formatConfigErrors } from "@l5d/config";
import { pino } from "pino";
import { type RunningNamerd, startNamerd } from "./namerd.js";
import { type NamerdConfig, parseNamerdConfig } from "./namerd-config.js";
import { createNamerdRegistries } from "./plugins.js";

export const NAMERD_USAGE = `Usage: namerd [--check] [--log-level=<level>] <config.yaml | ->

  --check              validate the config and exit (0 when valid, 1 with every error listed)
  --log-level=<level>  trace, debug, info (default), warn, error
`;

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

export interface CliIo {
  stdout(s: string): void;
  stderr(s: string): void;
  readStdin?(): string;
}

/** Reads and validates a namerd config file (`-` is standard input). */
export function loadNamerdConfig(
  file: string,
  readStdin: () => string = () => readFileSync(0, "utf8"),
): { ok: true; config: NamerdConfig } | { ok: false; message: string } {
  let text: string;
  try {
    text = file === "-" ? readStdin() : readFileSync(file, "utf8");
  } catch (e) {
    return { ok: false, message: `cannot read config ${file}: ${(e as Error).message}` };
  }
  const r = parseNamerdConfig(text, createNamerdRegistries());
  if (!r.ok)
    return { ok: false, message: `invalid config ${file}:\n${formatConfigErrors(r.errors)}` };
  return { ok: true, config: r.config };
}

export async function runNamerd(args: readonly string[], io: CliIo): Promise<number> {
  let check = false;
  let level = process.env.NAMERD_LOG_LEVEL ?? "info";
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--help" || a === "-h") {
      io.stdout(NAMERD_USAGE);
      return 0;
    }
    if (a === "--check" || a === "-check") check = true;
    else if (a.startsWith("--log-level=")) level = a.slice("--log-level=".length);
    else if (a === "--log-level") level = args[++i] ?? "";
    else if (a.startsWith("-") && a !== "-") {
      io.stderr(`namerd: unknown option ${a}\n${NAMERD_USAGE}`);
      return 1;
    } else files.push(a);
  }
  if (!LEVELS.includes(level)) {
    io.stderr(`namerd: unknown log level '${level}'\n`);
    return 1;
  }
  if (files.length !== 1) {
    io.stderr(`namerd: expected one config file\n${NAMERD_USAGE}`);
    return 1;
  }
  const file = files[0]!;
  const loaded = loadNamerdConfig(file, io.readStdin);
  if (!loaded.ok) {
    io.stderr(`namerd: ${loaded.message}\n`);
    return 1;
  }
  if (check) {
    const c = loaded.config;
    io.stdout(
      `${file}: ok (storage ${c.storage.kind}, ${c.namers.length} namer(s), ${c.interfaces.length} interface(s))\n`,
    );
    return 0;
  }
  const log = pino({ level, base: { app: "namerd" } });
  let n: RunningNamerd;
  try {
    n = await startNamerd(loaded.config, log);
  } catch (e) {
    log.error({ err: (e as Error).message }, "startup failed");
    io.stderr(`namerd: ${(e as Error).message}\n`);
    return 1;
  }
  process.once("SIGINT", () => void n.close());
  process.once("SIGTERM", () => void n.close());
  process.on("uncaughtException", (e) =>
    log.error({ err: e.stack ?? e.message }, "uncaught exception"),
  );
  process.on("unhandledRejection", (e) => log.error({ err: String(e) }, "unhandled rejection"));
  await n.done;
  return 0;
}
