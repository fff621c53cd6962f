import { type CallOptions, type Client, credentials, Metadata } from "@grpc/grpc-js";
import { HelloClient, WorldClient } from "@l5d/proto";

/** Metadata to send: a record or a list of pairs (repeated keys allowed). */
export type MetadataInit =
  | Readonly<Record<string, string>>
  | readonly (readonly [string, string])[];

/** Options of {@link callGreeting} and {@link callStreamGreeting}. */
export interface GreetingCallOptions {
  /** Deadline in ms from the start of the call (gRPC `grpc-timeout`). Default none. */
  timeoutMs?: number | undefined;
  /** Extra request metadata, e.g. `l5d-dtab`. Default none. */
  metadata?: MetadataInit | undefined;
  /** Unary calls only: which service to call. Default `Hello` (like `helloworld-client`). */
  service?: "Hello" | "World";
}

/** Options of {@link callStreamGreeting}. */
export interface StreamGreetingCallOptions extends GreetingCallOptions {
  /** Called with each reply as it arrives. */
  onMessage?: (message: string) => void;
}

/** A plaintext (h2c) `helloworld.Hello` client, like the Go client's `grpc.WithInsecure()`. */
export function createHelloClient(target: string): HelloClient {
  return new HelloClient(target, credentials.createInsecure());
}

/** A plaintext (h2c) `helloworld.World` client. */
export function createWorldClient(target: string): WorldClient {
  return new WorldClient(target, credentials.createInsecure());
}

function toMetadata(init: MetadataInit | undefined): Metadata {
  const md = new Metadata();
  if (init === undefined) return md;
  const pairs = Array.isArray(init)
    ? (init as readonly (readonly [string, string])[])
    : Object.entries(init as Record<string, string>);
  for (const [k, v] of pairs) md.add(k, v);
  return md;
}

function callOptions(opts: GreetingCallOptions): Partial<CallOptions> {
  return opts.timeoutMs !== undefined && opts.timeoutMs > 0
    ? { deadline: Date.now() + opts.timeoutMs }
    : {};
}

async function withClient<C extends Client, T>(
  target: string | C,
  make: (t: string) => C,
  f: (c: C) => Promise<T>,
): Promise<T> {
  if (typeof target !== "string") return f(target);
  const client = make(target);
  try {
    return await f(client);
  } finally {
    client.close();
  }
}

/**
 * Calls `Greeting` once and resolves with the reply's message. `target` is a `host:port` (a
 * client is created and closed) or a client to reuse. Rejects with grpc-js's `ServiceError`
 * (see `formatRpcError`).
 */
export function callGreeting(
  target: string | HelloClient | WorldClient,
  opts: GreetingCallOptions = {},
): Promise<string> {
  const make = (t: string) =>
    opts.service === "World" ? createWorldClient(t) : createHelloClient(t);
  return withClient<HelloClient | WorldClient, string>(
    target,
    make,
    (client) =>
      new Promise((resolve, reject) => {
        client.greeting({}, toMetadata(opts.metadata), callOptions(opts), (err, res) =>
          err ? reject(err) : resolve(res.message),
        );
      }),
  );
}

/** Calls `Hello.StreamGreeting` and resolves with every reply (5 from our server). */
export function callStreamGreeting(
  target: string | HelloClient,
  opts: StreamGreetingCallOptions = {},
): Promise<string[]> {
  return withClient(
    target,
    createHelloClient,
    (client) =>
      new Promise((resolve, reject) => {
        const out: string[] = [];
        const stream = client.streamGreeting({}, toMetadata(opts.metadata), callOptions(opts));
        stream.on("data", (res: { message: string }) => {
          out.push(res.message);
          opts.onMessage?.(res.message);
        });
        stream.on("error", reject);
        stream.on("end", () => resolve(out));
      }),
  );
}
