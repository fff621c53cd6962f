/**
 * An HTTP/1.1 request as the router takes it (`RoutableRequest`): its header list (pseudo-fields
 * `:method`, `:path`, `:version` first, then the end-to-end fields, names lower-case, wire order)
 * and its exchange. Built once per request by the server.
 */
import type {
  Exchange,
  ExchangeOptions,
  HeaderList,
  LocalError,
  RoutableRequest,
} from "@l5d/h2-proxy";
import type { UpstreamPools } from "../client/upstream-pools.js";
import { H1Exchange, type H1Source } from "./h1-exchange.js";
import { connectionListed, isHopByHop } from "./hop-by-hop.js";
import type { IncomingRequest } from "./incoming-request.js";
import { localAnswer } from "./local-answer.js";

export interface H1RequestParts extends H1Source {
  readonly pools: UpstreamPools;
}

export class H1Request implements RoutableRequest {
  readonly headers: HeaderList;
  readonly isGrpc = false;
  /** The request as the server parsed it: what each attempt of its exchange sends. */
  readonly parts: H1RequestParts;

  constructor(parts: H1RequestParts) {
    this.parts = parts;
    this.headers = headerListOf(parts.req);
  }

  exchange(opts: ExchangeOptions): Exchange {
    return new H1Exchange(this.parts, opts, this.parts.pools);
  }

  respondError(e: LocalError): void {
    localAnswer(this.parts.res, e.httpStatus, e.message);
  }
}

/** Linkerd's deprecated per-request dtab header (read as `l5d-dtab`). */
export const DTAB_LOCAL = "dtab-local";

/** The router's view of a request: pseudo-fields, then end-to-end fields (lower-case names). */
export function headerListOf(req: IncomingRequest): [string, string][] {
  const out: [string, string][] = [
    [":method", req.method],
    [":path", req.url],
    [":version", req.httpVersion],
  ];
  const raw = req.rawHeaders;
  const listed = connectionListed(req.headerAll("connection"));
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (isHopByHop(name, listed)) continue;
    // Linkerd's deprecated `dtab-local` is read as `l5d-dtab` (and, like it, not forwarded)
    out.push([name === DTAB_LOCAL ? "l5d-dtab" : name, raw[i + 1] as string]);
  }
  return out;
}
