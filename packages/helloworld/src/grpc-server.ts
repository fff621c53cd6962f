import {
  credentials,
  type handleServerStreamingCall,
  type handleUnaryCall,
  propagate,
  Server,
  ServerCredentials,
  type ServerErrorResponse,
  type ServerUnaryCall,
  type ServerWritableStream,
  status,
} from "@grpc/grpc-js";
import {
  type HelloServer,
  HelloService,
  type SvcRequest,
  SvcResponse,
  WorldClient,
  type WorldServer,
  WorldService,
} from "@l5d/proto";
import { type Greeter, InjectedFailureError } from "./greeter.js";
import { copyL5dContext } from "./l5d-context.js";
import { isRpcError } from "./rpc-error.js";

/** Replies per `StreamGreeting` call. */
export const STREAM_GREETING_COUNT = 5;

/** Options of {@link startGrpcListener}. */
export interface GrpcListenerOptions {
  /** Host to bind; undefined = all interfaces. */
  host: string | undefined;
  port: number;
  greeter: Greeter;
  /** Downstream `host:port` called with a `World` client (plaintext h2c); undefined = leaf. */
  target: string | undefined;
}

/** A running gRPC listener. */
export interface GrpcListener {
  port: number;
  /** Fully qualified names of the registered services. */
  services: readonly string[];
  /** Stops accepting, waits for in-flight calls up to `timeoutMs`, then cancels the rest. */
  shutdown(timeoutMs: number): Promise<void>;
  /** Cancels everything now. */
  close(): void;
}

/** Maps a failure of the per-request algorithm onto the gRPC status the Go app answers. */
export function toServerError(err: unknown): Partial<ServerErrorResponse> {
  if (err instanceof InjectedFailureError) return { code: status.UNKNOWN, details: err.message };
  if (isRpcError(err)) return { code: err.code, details: err.details };
  return { code: status.UNKNOWN, details: err instanceof Error ? err.message : String(err) };
}

function bind(server: Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    );
  });
}

/**
 * Starts the gRPC server of the original app: it registers only `helloworld.Hello` when the
 * greeter's text lower-cased is `hello`, otherwise only `helloworld.World`.
 */
export async function startGrpcListener(opts: GrpcListenerOptions): Promise<GrpcListener> {
  const { greeter } = opts;
  const world =
    opts.target !== undefined && opts.target !== ""
      ? new WorldClient(opts.target, credentials.createInsecure())
      : undefined;

  const downstream = (
    call: ServerUnaryCall<SvcRequest, SvcResponse> | ServerWritableStream<SvcRequest, SvcResponse>,
  ) =>
    world === undefined
      ? undefined
      : () =>
          new Promise<string>((resolve, reject) => {
            world.greeting(
              {},
              copyL5dContext(call.metadata),
              { parent: call, propagate_flags: propagate.DEFAULTS },
              (err, res) => (err ? reject(err) : resolve(res.message)),
            );
          });

  const greeting: handleUnaryCall<SvcRequest, SvcResponse> = (call, callback) => {
    greeter.respond(downstream(call)).then(
      (text) => callback(null, SvcResponse.create({ message: `${text}!` })),
      (err: unknown) => callback(toServerError(err)),
    );
  };

  const streamGreeting: handleServerStreamingCall<SvcRequest, SvcResponse> = (call) => {
    void (async () => {
      try {
        for (let i = 0; i < STREAM_GREETING_COUNT && !call.cancelled; i++) {
          const text = await greeter.respond(downstream(call));
          call.write(SvcResponse.create({ message: `${text}!` }));
        }
        call.end();
      } catch (err) {
        // grpc-js turns an 'error' event on a server stream into the call's final status.
        call.emit("error", Object.assign(new Error("stream failed"), toServerError(err)));
      }
    })();
  };

  // The original keys the registration on the text before POD_IP is appended.
  const isHello = greeter.baseText.toLowerCase() === "hello";
  const server = new Server();
  if (isHello) {
    const impl: HelloServer = { greeting, streamGreeting };
    server.addService(HelloService, impl);
  } else {
    const impl: WorldServer = { greeting };
    server.addService(WorldService, impl);
  }

  let port: number;
  try {
    if (opts.host === undefined) {
      port = await bind(server, `[::]:${opts.port}`).catch(() =>
        bind(server, `0.0.0.0:${opts.port}`),
      );
    } else {
      const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
      port = await bind(server, `${host}:${opts.port}`);
    }
  } catch (err) {
    server.forceShutdown();
    world?.close();
    throw err;
  }

  let stopping: Promise<void> | undefined;
  const close = () => {
    server.forceShutdown();
    world?.close();
  };
  return {
    port,
    services: [isHello ? "helloworld.Hello" : "helloworld.World"],
    shutdown(timeoutMs) {
      stopping ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          close();
          resolve();
        }, timeoutMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          world?.close();
          resolve();
        });
      });
      return stopping;
    },
    close,
  };
}
