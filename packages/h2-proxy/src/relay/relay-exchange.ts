/**
 * The relay's exchange: the `Exchange` contract of the router's loop on a `RelayStream`. Each
 * attempt is a new upstream stream carrying the request's headers and its buffered DATA. With
 * `holdResponses` its response is held as frames not yet written downstream (the upstream's
 * stream window for them is given back only when they are written, their connection window on
 * arrival; `discard()` drops them and sends RST_STREAM(CANCEL) upstream); without, it streams
 * through as it arrives. The stream does the work; this is its face.
 */
import type { Address } from "../router/address.js";
import type { AttemptResult, Exchange } from "../router/exchange.js";
import type { HeaderEdits } from "../router/header-list.js";
import type { RelayStream } from "./relay-stream.js";

export class RelayExchange implements Exchange {
  readonly #s: RelayStream;

  constructor(s: RelayStream) {
    this.#s = s;
  }

  get replayable(): boolean {
    return this.#s.replayable;
  }

  get done(): boolean {
    return this.#s.responded;
  }

  remainingMs(): number | undefined {
    return this.#s.remainingMs();
  }

  attempt(endpoint: Address, edits: HeaderEdits): Promise<AttemptResult> {
    return this.#s.attempt(endpoint, edits);
  }

  discard(): void {
    this.#s.discard();
  }

  commit(extra: Readonly<Record<string, string>> = {}): Promise<void> {
    return this.#s.commit(extra);
  }
}
