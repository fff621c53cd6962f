/**
 * The relay's exchange: the `Exchange` contract of the router's loop on a `RelayStream`. Each
 * attempt is a new upstream stream carrying the request's headers and its buffered DATA. With
 * `holdResponses` its response is held as frames not yet written downstream (the upstream's
 * stream window for them is given back only when they are written, their connection window on
 * arrival; `discard()` drops them and sends RST_STREAM(CANCEL) upstream); without, it streams
 * through as it arrives. The stream and its parts do the work (`exchange-attempt.ts`,
 * `stream-deadline.ts`); this is its face.
 */
import type { Address } from "../router/address.js";
import type { AttemptSink, Exchange } from "../router/exchange.js";
import type { HeaderEdits } from "../router/header-list.js";
import { attempt, commit, discard, replayable } from "./exchange-attempt.js";
import type { RelayStream } from "./relay-stream.js";
import { remainingMs } from "./stream-deadline.js";

export class RelayExchange implements Exchange {
  readonly #s: RelayStream;

  constructor(s: RelayStream) {
    this.#s = s;
  }

  get replayable(): boolean {
    return replayable(this.#s);
  }

  get done(): boolean {
    return this.#s.responded;
  }

  remainingMs(): number | undefined {
    return remainingMs(this.#s);
  }

  attempt(endpoint: Address, edits: HeaderEdits, sink: AttemptSink): void {
    attempt(this.#s, endpoint, edits, sink);
  }

  discard(): void {
    discard(this.#s);
  }

  commit(extra: Readonly<Record<string, string>> = {}): Promise<void> {
    return commit(this.#s, extra);
  }
}
