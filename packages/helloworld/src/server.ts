import { Greeter } from "./greeter.js";
import { startGrpcListener } from "./grpc-server.js";
import { startHttpListener } from "./http-server.js";
import { joinHostPort, parseListenAddress } from "./listen-address.js";

/** The two protocols of the original binary. */
export type HelloWorldProtocol = "grpc" | "http";

/** Options of {@link startHelloWorldServer}; the CLI flag/env each one mirrors is named. */
export interface HelloWorldServerOptions {
  /** Listen address, Go style (`-addr`): `:7777` = all interfaces, `127.0.0.1:0` = free port. Default `:7777`. */
  addr?: string;
  /** Effective text (`-text`, replaced by `TARGET_WORLD`). Default `Hello`. */
  text?: string;
  /** `POD_IP`: appended to the text as ` (<ip>)`. Default none. */
  podIp?: string | undefined;
  /** Downstream `host:port` (`-target`). Default none (a leaf). */
  target?: string | undefined;
  /** Sleep before each request in ms (`-latency`). Default 0. */
  latencyMs?: number;
  /** Probability 0..1 of an injected failure (`-failure-rate`). Default 0. */
  failureRate?: number;
  /** HTTP only: JSON replies `{"api_result": ...}` (`-json`). Default false. */
  json?: boolean;
  /**
   * `-protocol`. Default `grpc` for this library (the CLI keeps the original's default `http`).
   */
  protocol?: HelloWorldProtocol;
  /** HTTP only: proxy for the downstream call (`http_proxy` env). Default none. */
  httpProxy?: string | undefined;
  /** Random source for failure injection. Default `Math.random`. */
  random?: () => number;
  /** How long {@link HelloWorldServer.shutdown} waits for in-flight calls before cancelling them. Default 10000 ms. */
  shutdownTimeoutMs?: number;
  /** Receives the HTTP mode's log lines (`set latency to 1s`). Default: discarded. */
  log?: (line: string) => void;
}

/** A running hello/world server. */
export interface HelloWorldServer extends AsyncDisposable {
  readonly protocol: HelloWorldProtocol;
  /** A dialable `host:port` (loopback when bound to all interfaces). */
  readonly address: string;
  /** The bound port. */
  readonly port: number;
  /** The `-addr` value as the startup line shows it, with a requested port 0 replaced by the bound port. */
  readonly listenAddr: string;
  /** Registered gRPC services (`helloworld.Hello` or `helloworld.World`); empty in HTTP mode. */
  readonly services: readonly string[];
  /** The per-request settings (mutable: `latencyMs`, `failureRate`). */
  readonly greeter: Greeter;
  /** Graceful stop: refuse new calls, wait for in-flight ones (bounded by `shutdownTimeoutMs`), then cancel the rest. */
  shutdown(): Promise<void>;
  /** Immediate stop: cancels in-flight calls. */
  close(): Promise<void>;
}

/** Starts the demo server (the original `helloworld` binary) in-process. */
export async function startHelloWorldServer(
  opts: HelloWorldServerOptions = {},
): Promise<HelloWorldServer> {
  const addr = opts.addr ?? ":7777";
  const listen = parseListenAddress(addr);
  const protocol = opts.protocol ?? "grpc";
  const greeter = new Greeter({
    text: opts.text ?? "Hello",
    podIp: opts.podIp,
    latencyMs: opts.latencyMs,
    failureRate: opts.failureRate,
    random: opts.random,
  });
  const target = opts.target === "" ? undefined : opts.target;
  const timeoutMs = opts.shutdownTimeoutMs ?? 10_000;
  let listener: { port: number; shutdown(ms: number): Promise<void>; close(): void };
  let services: readonly string[] = [];
  if (protocol === "grpc") {
    const grpc = await startGrpcListener({ host: listen.host, port: listen.port, greeter, target });
    services = grpc.services;
    listener = grpc;
  } else {
    listener = await startHttpListener({
      host: listen.host,
      port: listen.port,
      greeter,
      target,
      json: opts.json ?? false,
      httpProxy: opts.httpProxy,
      log: opts.log ?? (() => {}),
    });
  }
  const port = listener.port;
  const dialHost =
    listen.host === undefined || listen.host === "0.0.0.0" || listen.host === "::"
      ? "127.0.0.1"
      : listen.host;
  const shutdown = () => listener.shutdown(timeoutMs);
  return {
    protocol,
    address: joinHostPort(dialHost, port),
    port,
    listenAddr: listen.port === 0 ? `${addr.slice(0, addr.lastIndexOf(":"))}:${port}` : addr,
    services,
    greeter,
    shutdown,
    async close() {
      listener.close();
    },
    [Symbol.asyncDispose]: async () => {
      listener.close();
    },
  };
}
