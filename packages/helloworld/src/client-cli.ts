import { type CliIo, resolveCliIo } from "./cli-io.js";
import { callGreeting, callStreamGreeting } from "./client.js";
import { formatGoFlagUsage, GoFlagError, type GoFlagSpec, parseGoFlags } from "./go-flags.js";
import { formatLoadSummary, runLoad } from "./load.js";
import { formatRpcError } from "./rpc-error.js";

/** `helloworld-client`'s flags: the original `-streaming` plus our `-timeout`, `-n`, `-c`, `-metadata`. */
export const CLIENT_FLAGS = {
  streaming: { type: "bool", default: false, usage: "send streaming requests" },
  timeout: { type: "duration", default: 0, usage: "deadline of each call (0 = none)" },
  n: { type: "int", default: 1, usage: "load mode: number of calls (prints a summary)" },
  c: { type: "int", default: 1, usage: "load mode: calls in flight at once" },
  metadata: {
    type: "list",
    default: [],
    usage:
      "extra request metadata key=value, repeatable (e.g. l5d-dtab=/grpc/World=>/srv/world-v2)",
  },
} as const satisfies GoFlagSpec;

const USAGE = "Usage: helloworld-client <host>:<port>";

/** The parsed command line of `helloworld-client`. */
export interface ClientCommandLine {
  target: string;
  streaming: boolean;
  timeoutMs: number;
  /** Set when `-n` or `-c` is given. */
  load: { requests: number; concurrency: number } | undefined;
  metadata: [string, string][];
}

/** A `helloworld-client` command line that is not `[flags] <host>:<port>`. */
export class ClientUsageError extends Error {
  readonly code = "usage";
  constructor() {
    super(USAGE);
    this.name = "ClientUsageError";
  }
}

/**
 * Parses `helloworld-client [-streaming] [-timeout d] [-n N -c C] [-metadata k=v]... <host>:<port>`
 * (flags may also follow the address). Throws {@link GoFlagError} or {@link ClientUsageError}.
 */
export function parseClientCommandLine(argv: readonly string[]): ClientCommandLine {
  const { values, positionals, given } = parseGoFlags(argv, CLIENT_FLAGS, { interspersed: true });
  if (positionals.length !== 1) throw new ClientUsageError();
  const metadata = values.metadata.map((kv): [string, string] => {
    const eq = kv.indexOf("=");
    if (eq <= 0) {
      throw new GoFlagError(
        "invalid_value",
        `invalid value ${JSON.stringify(kv)} for flag -metadata: expected key=value`,
      );
    }
    return [kv.slice(0, eq).toLowerCase(), kv.slice(eq + 1)];
  });
  for (const f of ["n", "c"] as const) {
    if (values[f] < 1) {
      throw new GoFlagError(
        "invalid_value",
        `invalid value "${values[f]}" for flag -${f}: must be at least 1`,
      );
    }
  }
  return {
    target: positionals[0] as string,
    streaming: values.streaming,
    timeoutMs: values.timeout,
    load:
      given.has("n") || given.has("c") ? { requests: values.n, concurrency: values.c } : undefined,
    metadata,
  };
}

/**
 * The `helloworld-client` program. Prints the reply (or each of the 5 streamed replies) and
 * resolves 0; on an RPC error prints `rpc error: code = <Code> desc = <message>` to stderr and
 * resolves 1; usage errors resolve 1 (wrong argument count) or 2 (bad flag, Go's `flag`).
 * In load mode prints a summary and resolves 1 when any call failed.
 */
export async function runClientCli(opts: CliIo = {}): Promise<number> {
  const io = resolveCliIo(opts);
  const usage = () => io.stderr(`${USAGE}\n${formatGoFlagUsage(CLIENT_FLAGS)}`);
  let cmd: ClientCommandLine;
  try {
    cmd = parseClientCommandLine(io.argv);
  } catch (err) {
    if (err instanceof GoFlagError) {
      if (err.code !== "help") io.stderr(`${err.message}\n`);
      usage();
      return err.code === "help" ? 0 : 2;
    }
    usage();
    return 1;
  }
  const callOpts = { timeoutMs: cmd.timeoutMs, metadata: cmd.metadata };
  if (cmd.load !== undefined) {
    const summary = await runLoad(cmd.target, {
      ...callOpts,
      requests: cmd.load.requests,
      concurrency: cmd.load.concurrency,
      streaming: cmd.streaming,
    });
    io.stdout(formatLoadSummary(summary));
    return summary.errors > 0 ? 1 : 0;
  }
  try {
    if (cmd.streaming) {
      await callStreamGreeting(cmd.target, {
        ...callOpts,
        onMessage: (m) => io.stdout(`${m}\n`),
      });
    } else {
      io.stdout(`${await callGreeting(cmd.target, callOpts)}\n`);
    }
    return 0;
  } catch (err) {
    io.stderr(`${formatRpcError(err)}\n`);
    return 1;
  }
}
