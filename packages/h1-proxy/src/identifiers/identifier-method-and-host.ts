/**
 * `io.l5d.methodAndHost` (Linkerd's `MethodAndHostIdentifier`): HTTP/1.1 →
 * `dstPrefix/1.1/<METHOD>/<host>[/<path>]`, HTTP/1.0 → `dstPrefix/1.0/<METHOD>[/<path>]`; the
 * Host lower-cased (RFC 9110: case-insensitive), the request path appended only with
 * `httpUriInDst: true` (read as a dtab path: a path that is not one fails the request). An
 * HTTP/1.1 request without Host is unidentified.
 */
import type { PluginFactory } from "@l5d/config";
import { Path } from "@l5d/dtab";
import { headerValue, type Identification, type IdentifierMaker } from "@l5d/h2-proxy";
import { z } from "zod";
import { targetPath } from "./request-target.js";

export const methodAndHostSchema = z.strictObject({
  kind: z.literal("io.l5d.methodAndHost"),
  httpUriInDst: z.boolean().default(false),
});

export type MethodAndHostConfig = z.infer<typeof methodAndHostSchema>;

export function methodAndHostIdentifier(cfg: { httpUriInDst: boolean }): IdentifierMaker {
  return (dstPrefix) => ({
    identify(headers): Identification {
      const method = headerValue(headers, ":method") ?? "GET";
      const suffix = cfg.httpUriInDst
        ? Path.read(targetPath(headerValue(headers, ":path") ?? "/"))
        : Path.empty;
      if (headerValue(headers, ":version") === "1.0")
        return { kind: "ok", name: dstPrefix.concat(Path.utf8("1.0", method)).concat(suffix) };
      const host = headerValue(headers, "host");
      if (host === undefined || host === "")
        return { kind: "unidentified", reason: "HTTP/1.1 request missing hostname" };
      return {
        kind: "ok",
        name: dstPrefix.concat(Path.utf8("1.1", method, host.toLowerCase())).concat(suffix),
      };
    },
  });
}

export const methodAndHostIdentifierFactory: PluginFactory<MethodAndHostConfig, IdentifierMaker> = {
  kind: "io.l5d.methodAndHost",
  schema: methodAndHostSchema as unknown as z.ZodType<MethodAndHostConfig>,
  make: (cfg) => methodAndHostIdentifier(cfg),
};
