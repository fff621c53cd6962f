/**
 * The named states of one relayed request (`RelayStream`): two small numbers that say where the
 * request is, instead of the half-dozen booleans they replace, and the three flags that stay
 * orthogonal to them.
 *
 * What the client has been told (`ReplyPhase`):
 * ```
 *            attempt (holdResponses)          commit / streamThrough
 *   Routing ─────────────────────────> Holding ───────────────────────> Answered ──> Done
 *      │  <── discard, next attempt ──┘                                    ^           ^
 *      └── response headers streamed through, local answer (fail) ─────────┘           │
 *      └── client reset, connection closed, deadline ──────────────────────────────────┘
 * ```
 * - `Routing`: nothing sent downstream; the router may still make attempts (or answer locally).
 * - `Holding`: the current attempt's response is held back (retries configured) until the
 *   router commits or discards it.
 * - `Answered`: response headers (or a local answer) went downstream; no more attempts.
 * - `Done`: the stream is over (its resources released); every late event is ignored.
 *
 * Where the current attempt's upstream response is (`ResponsePhase`):
 * ```
 *   AwaitingHeaders ── final HEADERS ──> Receiving ── END_STREAM (DATA or trailers) ──> Complete
 *        ^  (1xx HEADERS stay)                                                              │
 *        └──────────── a new attempt (openOn), discard() ───────────────────────────────────┘
 * ```
 * HEADERS with END_STREAM go straight to `Complete`.
 *
 * Orthogonal flags (`RelayStream`): `upClosed` (the upstream stream was reset or its connection
 * lost: no RST_STREAM owed), `parked` (an attempt settled for the router: its request half
 * waits for the next one), `dropRequest` (the response is complete: the rest of the request is
 * dropped, as the upstream did).
 */

/** What the client has been told; ordered (`>= Answered`: no more attempts). */
export const ReplyPhase = {
  Routing: 0,
  Holding: 1,
  Answered: 2,
  Done: 3,
} as const;
export type ReplyPhase = (typeof ReplyPhase)[keyof typeof ReplyPhase];

/** Where the current attempt's upstream response is; ordered. */
export const ResponsePhase = {
  AwaitingHeaders: 0,
  Receiving: 1,
  Complete: 2,
} as const;
export type ResponsePhase = (typeof ResponsePhase)[keyof typeof ResponsePhase];
