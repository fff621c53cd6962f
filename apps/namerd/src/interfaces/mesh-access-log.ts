/**
 * The mesh interface's `h2AccessLog`: one line per finished gRPC call, in the layout of
 * Linkerd's h2 AccessLogger (`authority remote - - [time] "POST /path HTTP/2" status - "referer"
 * "user-agent"`). The HTTP status is 200 for every gRPC answer, as Linkerd logs it; the gRPC
 * status travels in trailers, which Linkerd's line does not show. Rolling the file
 * (`h2AccessLogRollPolicy`, `h2AccessLogRotateCount`) is left to the platform (logrotate with
 * copytruncate), as for l5d's `httpAccessLog`.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import type { ServerUnaryCall } from "@grpc/grpc-js";

/** What every grpc-js server call offers (unary and streaming alike). */
export type MeshCall = Pick<
  ServerUnaryCall<unknown, unknown>,
  "once" | "metadata" | "getPeer" | "getHost" | "getPath"
>;

function pad(n: number, width = 2): string {
  return String(Math.abs(n)).padStart(width, "0");
}

/** `dd/MM/yyyy:HH:mm:ss Z` in local time (Linkerd's TimeFormat). */
export function accessLogTime(d: Date): string {
  const off = -d.getTimezoneOffset();
  const zone = `${off >= 0 ? "+" : "-"}${pad(Math.trunc(off / 60))}${pad(off % 60)}`;
  return (
    `${pad(d.getDate())}/${pad(d.getMonth() + 1)}/${d.getFullYear()}:` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${zone}`
  );
}

/** The host part of grpc-js's `getPeer()` (`127.0.0.1:5555`, `[::1]:5555`). */
function peerHost(peer: string): string {
  if (peer.startsWith("[")) return peer.slice(1, peer.indexOf("]"));
  const i = peer.lastIndexOf(":");
  return i > 0 ? peer.slice(0, i) : peer || "-";
}

export class MeshAccessLog {
  readonly #out: WriteStream;

  constructor(path: string, append: boolean) {
    this.#out = createWriteStream(path, { flags: append ? "a" : "w" });
    // a full disk must not take namerd down; the lines are lost
    this.#out.on("error", () => {});
  }

  /** Logs `call` when it finishes (answered, failed or cancelled). */
  track(call: MeshCall): void {
    let logged = false;
    call.once("cancelled", () => {
      if (logged) return;
      logged = true;
      const md = (k: string) => {
        const v = call.metadata.get(k)[0];
        return typeof v === "string" && v !== "" ? v : "-";
      };
      let peer = "-";
      let host = "-";
      try {
        peer = peerHost(call.getPeer());
        host = call.getHost() || "-";
      } catch {
        // the connection is gone: keep the dashes
      }
      this.#out.write(
        `${host} ${peer} - - [${accessLogTime(new Date())}] "POST ${call.getPath()} HTTP/2" 200 - "${md("referer")}" "${md("user-agent")}"\n`,
      );
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#out.end(() => resolve()));
  }
}
