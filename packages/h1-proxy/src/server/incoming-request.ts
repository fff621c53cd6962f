/**
 * A request as the server parsed it off a client connection: its head (method, target, version,
 * raw fields) and the connection it came on.
 */
import type { Socket } from "node:net";
import { fieldValue, fieldValues } from "../wire/fields.js";
import type { ParsedHead } from "../wire/llhttp.js";

export class IncomingRequest {
  readonly method: string;
  /** The request-target as received. */
  readonly url: string;
  readonly versionMinor: number;
  /** `1.1` or `1.0`. */
  readonly httpVersion: string;
  /** Names and values alternating, wire order and case. */
  readonly rawHeaders: readonly string[];
  /** Asks to switch protocols (`Upgrade`). */
  readonly upgrade: boolean;
  /** The client may send another request on the connection after this one. */
  readonly keepAlive: boolean;
  readonly socket: Socket;

  constructor(head: ParsedHead, socket: Socket) {
    this.method = head.method;
    this.url = head.url;
    this.versionMinor = head.versionMinor;
    this.httpVersion = `${head.versionMajor}.${head.versionMinor}`;
    this.rawHeaders = head.rawHeaders;
    this.upgrade = head.upgrade;
    this.keepAlive = head.keepAlive;
    this.socket = socket;
  }

  /** The first value of field `lower` (a lower-case name), if any. */
  header(lower: string): string | undefined {
    return fieldValue(this.rawHeaders, lower);
  }

  /** Every value of field `lower`; undefined when there is none. */
  headerAll(lower: string): string[] | undefined {
    return fieldValues(this.rawHeaders, lower);
  }
}
