/**
 * NamerdClientStatus: what one namerd interpreter knows of its namerd (where it is, whether it
 * answers, the last error), kept by its connection for the admin page, and the error a bind
 * namerd never answered fails with. Each transport's connection extends it.
 */
import type { Path } from "@l5d/dtab";

/** What the admin page shows about a namerd client. */
export interface NamerdClientState {
  readonly namerd: string;
  readonly namespace: string;
  /** `host:port` last dialled. */
  readonly address: string | undefined;
  readonly connected: boolean;
  readonly lastError: string | undefined;
  /** ISO time of the last value received. */
  readonly lastUpdate: string | undefined;
  /** Streams open now (one per watched name and per watched address). */
  readonly streams: number;
  readonly reconnects: number;
}

export class NamerdClientStatus {
  address: string | undefined;
  connected = false;
  lastError: string | undefined;
  lastUpdate: number | undefined;
  streams = 0;
  reconnects = 0;

  constructor(
    readonly dst: Path,
    /** The namespace the interpreter asks about. */
    readonly namespace: string,
  ) {}

  state(): NamerdClientState {
    return {
      namerd: this.dst.show,
      namespace: this.namespace,
      address: this.address,
      connected: this.connected,
      lastError: this.lastError,
      lastUpdate:
        this.lastUpdate === undefined ? undefined : new Date(this.lastUpdate).toISOString(),
      streams: this.streams,
      reconnects: this.reconnects,
    };
  }

  /** The error a bind that namerd never answered fails with. */
  unreachable(cause: string): Error {
    return new Error(
      `namerd ${this.dst.show}${this.address ? ` (${this.address})` : ""} is unavailable: ${cause}`,
    );
  }
}
