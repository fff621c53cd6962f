/**
 * Test support: a real HTTP/1.1 server on 127.0.0.1:0 with small limits, whose requests go to
 * `onRequest` (where the router would take them), and the upstream pools it uses. The caller
 * closes both (`srv.close(0)`, `pools.close()`).
 */
import { UpstreamPools } from "../client/upstream-pools.js";
import type { H1Request } from "./h1-request.js";
import { type H1Server, type H1ServerOptions, startH1Server } from "./h1-server.js";

export async function startTestH1Server(
  onRequest: (req: H1Request) => void,
  over: Partial<H1ServerOptions> = {},
): Promise<{ srv: H1Server; pools: UpstreamPools }> {
  const pools = new UpstreamPools();
  const srv = await startH1Server({
    host: "127.0.0.1",
    port: 0,
    routerLabel: "t",
    maxInitialLineBytes: 4096,
    maxHeadersBytes: 16_384,
    maxRequestBytes: 1 << 20,
    maxResponseBytes: 1 << 20,
    streaming: true,
    headersTimeoutMs: 10_000,
    idleTimeoutMs: 0,
    maxConnections: 100,
    connectTimeoutMs: 1_000,
    upstreams: pools,
    onRequest,
    ...over,
  });
  return { srv, pools };
}
