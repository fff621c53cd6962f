/**
 * `io.l5d.header.token` on an HTTP/1.1 router (Linkerd's `HeaderTokenIdentifier`): the value of a
 * header (`Host` by default, any case) as one path segment, UTF-8 encoded as Linkerd's
 * `Path.Utf8`: `dstPrefix/<value>`. Missing or empty: unidentified.
 */
import type { PluginFactory } from "@l5d/config";
import { headerTokenIdentifier, type IdentifierMaker } from "@l5d/h2-proxy";
import { z } from "zod";

export const httpHeaderTokenSchema = z.strictObject({
  kind: z.literal("io.l5d.header.token"),
  header: z
    .string()
    .min(1)
    .default("Host")
    .transform((h) => h.toLowerCase()),
});

export type HttpHeaderTokenConfig = z.infer<typeof httpHeaderTokenSchema>;

export const httpHeaderTokenIdentifierFactory: PluginFactory<
  HttpHeaderTokenConfig,
  IdentifierMaker
> = {
  kind: "io.l5d.header.token",
  schema: httpHeaderTokenSchema as unknown as z.ZodType<HttpHeaderTokenConfig>,
  // the h2 router's identifier: only the default header differs
  make: (cfg) => headerTokenIdentifier(cfg),
};
