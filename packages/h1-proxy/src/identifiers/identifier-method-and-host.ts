/**
 * `io.l5d.methodAndHost` (Linkerd's `MethodAndHostIdentifier`): HTTP/1.1 →
 * `dstPrefix/1.1/<METHOD>/<host>[/<uri path>]`, HTTP/1.0 → `dstPrefix/1.0/<METHOD>[/<uri path>]`.
 * The host is the Host field as sent, port included, lower-cased (RFC 9110: case-insensitive);
 * an absolute-form target's authority replaces it (as Linkerd's `ProxyRewriteFilter` does). The
 * uri path (before `?`) is appended only with `httpUriInDst: true`, read as a dtab path: a path
 * that is not one (`/a/`, `/a~b`) fails the request, as Linkerd's `Path.read` throws. An
 * HTTP/1.1 request without a Host is unidentified; HTTP/1.0 ignores Host.
 */
import type { PluginFactory } from "@l5d/config";
import { Path } from "@l5d/dtab";
import {
  type HeaderList,
  headerValue,
  type Identification,
  type IdentifierMaker,
} from "@l5d/h2-proxy";
import { z } from "zod";
import { fieldValue, targetPath } from "./request-target.js";

export const methodAndHostSchema = z.strictObject({
  kind: z.literal("io.l5d.methodAndHost"),
  /** Append the request's path to the name (Linkerd: not recommended). */
  httpUriInDst: z.boolean().default(false),
});

export type MethodAndHostConfig = z.infer<typeof methodAndHostSchema>;

export const MISSING_HOST_REASON = "HTTP/1.1 request missing hostname";

export function methodAndHostIdentifier(cfg: { httpUriInDst: boolean }): IdentifierMaker {
  const { httpUriInDst } = cfg;
  return (dstPrefix) => {
    const suffix = (headers: HeaderList): Path =>
      httpUriInDst ? Path.read(targetPath(headerValue(headers, ":path") ?? "/")) : Path.empty;
    return {
      identify(headers): Identification {
        const method = headerValue(headers, ":method") ?? "GET";
        const version = headerValue(headers, ":version") ?? "1.1";
        if (version === "1.0") {
          const name = dstPrefix.concat(Path.utf8("1.0", method)).concat(suffix(headers));
          return { kind: "ok", name };
        }
        if (version !== "1.1")
          return { kind: "unidentified", reason: `Unknown HTTP version HTTP/${version}` };
        const host = fieldValue(headers, "host");
        if (host === undefined || host === "")
          return { kind: "unidentified", reason: MISSING_HOST_REASON };
        const name = dstPrefix
          .concat(Path.utf8("1.1", method, host.toLowerCase()))
          .concat(suffix(headers));
        return { kind: "ok", name };
      },
    };
  };
}

export const methodAndHostIdentifierFactory: PluginFactory<MethodAndHostConfig, IdentifierMaker> = {
  kind: "io.l5d.methodAndHost",
  schema: methodAndHostSchema as unknown as z.ZodType<MethodAndHostConfig>,
  make: (cfg) => methodAndHostIdentifier(cfg),
};
