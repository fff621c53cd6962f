import { type CliIo, resolveCliIo } from "./cli-io.js";
import { formatGoFlagUsage, GoFlagError, type GoFlagSpec, parseGoFlags } from "./go-flags.js";
import {
  type HelloWorldProtocol,
  type HelloWorldServer,
  type HelloWorldServerOptions,
  startHelloWorldServer,
} from "./server.js";

/** `-protocol` was neither `grpc` nor `http`. */
export class UnsupportedProtocolError extends Error {
  readonly code = "unsupported_protocol";
  constructor(readonly protocol: string) {
    super(`unsupported protocol: ${protocol}`);
    this.name = "UnsupportedProtocolError";
  }
}

/** The original binary's flags (`helloworld`), with a configurable `-text` default. */
export function serverFlagSpec(defaultText = "Hello") {
  return {
    addr: { type: "string", default: ":7777", usage: "address to serve on" },
    text: { type: "string", default: defaultText, usage: "text to serve" },
    target: { type: "string", default: "", usage: "target service to call before returning" },
    latency: { type: "duration", default: 0, usage: "time to sleep before processing request" },
    "failure-rate": { type: "float", default: 0, usage: "rate of error responses to return" },
    json: {
      type: "bool",
      default: false,
      usage: "return JSON instead of plaintext responses (HTTP only)",
    },
    protocol: { type: "string", default: "http", usage: "API protocol: http or grpc" },
  } as const satisfies GoFlagSpec;
}

/** Options of {@link parseServerCommandLine} and {@link runServerCli}. */
export interface ServerCliOptions {
  /** Program name in usage output. Default `helloworld`. */
  name?: string;
  /** Default of `-text` (`TARGET_WORLD` and `-text` override it). Default `Hello`. */
  defaultText?: string;
}

/**
 * Turns the command line and env into server options, like the original `main`: flags, then
 * `TARGET_WORLD` replaces the text, `POD_IP` is appended per reply, `http_proxy` is used by the
 * HTTP mode's downstream call. Throws {@link GoFlagError} or {@link UnsupportedProtocolError}.
 */
export function parseServerCommandLine(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  opts: ServerCliOptions = {},
): HelloWorldServerOptions & { protocol: HelloWorldProtocol } {
  const { values } = parseGoFlags(argv, serverFlagSpec(opts.defaultText));
  const protocol = values.protocol;
  if (protocol !== "grpc" && protocol !== "http") throw new UnsupportedProtocolError(protocol);
  const envText = env.TARGET_WORLD ?? "";
  const podIp = env.POD_IP ?? "";
  const proxy = env.http_proxy ?? env.HTTP_PROXY ?? "";
  return {
    addr: values.addr,
    text: envText !== "" ? envText : values.text,
    podIp: podIp === "" ? undefined : podIp,
    target: values.target === "" ? undefined : values.target,
    latencyMs: values.latency,
    failureRate: values["failure-rate"],
    json: values.json,
    protocol,
    httpProxy: proxy === "" ? undefined : proxy,
  };
}

/** What {@link runServerCli} ended with: a running server, or an exit code to stop with. */
export type ServerCliResult = { server: HelloWorldServer } | { exitCode: number };

/** Options of {@link runServerCli}. */
export interface RunServerCliOptions extends ServerCliOptions, CliIo {
  /** Install SIGINT/SIGTERM handlers that drain and exit 0. Default true. */
  handleSignals?: boolean;
  /** Forwarded to the server: drain bound on shutdown. Default 10000 ms. */
  shutdownTimeoutMs?: number;
}

/**
 * The `helloworld`/`hello`/`world` program: parses flags (usage errors exit 2 like Go's `flag`,
 * `-h` exits 0), rejects unknown protocols (exit 1), starts the server, prints
 * `starting gRPC server on <addr>` and, on SIGINT/SIGTERM, prints
 * `shutting down gRPC server on <addr>`, drains in-flight calls and exits 0.
 * Resolves with the running server, or with the exit code when the program must stop now.
 */
export async function runServerCli(opts: RunServerCliOptions = {}): Promise<ServerCliResult> {
  const io = resolveCliIo(opts);
  const name = opts.name ?? "helloworld";
  let config: ReturnType<typeof parseServerCommandLine>;
  try {
    config = parseServerCommandLine(io.argv, io.env, opts);
  } catch (err) {
    if (err instanceof GoFlagError) {
      if (err.code !== "help") io.stderr(`${err.message}\n`);
      io.stderr(`Usage of ${name}:\n${formatGoFlagUsage(serverFlagSpec(opts.defaultText))}`);
      return { exitCode: err.code === "help" ? 0 : 2 };
    }
    io.stderr(`${err instanceof Error ? err.message : String(err)}\n`);
    return { exitCode: 1 };
  }

  const label = config.protocol === "grpc" ? "gRPC" : "HTTP";
  let server: HelloWorldServer;
  try {
    server = await startHelloWorldServer({
      ...config,
      log: (line) => io.stdout(`${line}\n`),
      ...(opts.shutdownTimeoutMs === undefined
        ? {}
        : { shutdownTimeoutMs: opts.shutdownTimeoutMs }),
    });
  } catch (err) {
    io.stderr(`${err instanceof Error ? err.message : String(err)}\n`);
    return { exitCode: 1 };
  }

  if (opts.handleSignals ?? true) {
    let stopping = false;
    const onSignal = () => {
      if (stopping) {
        // A second signal: stop waiting for in-flight calls.
        void server.close().then(() => process.exit(0));
        return;
      }
      stopping = true;
      io.stdout(`shutting down ${label} server on ${server.listenAddr}\n`);
      void server.shutdown().then(() => process.exit(0));
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  // Printed only once the handlers are in place: whoever waits for this line may signal at once.
  io.stdout(`starting ${label} server on ${server.listenAddr}\n`);
  return { server };
}
