/**
 * `io.l5d.mesh`'s config (Linkerd's keys and defaults), and the TLS files it names, read when
 * the router is built so that a missing file fails the daemon's start as it always did. Kept
 * apart from the interpreter (`mesh-interpreter.ts`), which needs the gRPC stack: the factory
 * (`mesh-interpreter-factory.ts`) loads that only for a config that uses this kind.
 */
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { clientTlsSchema, pluginCommonShape, positiveInt } from "@l5d/config";
import { Path } from "@l5d/dtab";
import { z } from "zod";
import { failureThresholdSchema, orderedRetrySchema, pathSchema } from "./namerd-client-schema.js";

export const meshInterpreterSchema = z.strictObject({
  ...pluginCommonShape,
  kind: z.literal("io.l5d.mesh"),
  /** Where namerd's mesh interface is: a path the `/$` namers bind (`/$/inet/namerd/4321`). */
  dst: pathSchema("/$/inet/namerd/4321"),
  /** The namespace, as a one-element path. */
  root: pathSchema("/default")
    .default(Path.utf8("default"))
    .refine((p) => p.size === 1, { error: "root may only contain a single path element" }),
  /** Linkerd's mesh client defaults: 1 s, doubling with jitter up to 10 minutes. */
  retry: orderedRetrySchema(1),
  /** Linkerd's client TLS; plaintext (h2c) when unset. */
  tls: clientTlsSchema.optional(),
  /** HTTP/2 pings to namerd (Linkerd's threshold failure detector): every `minPeriodMs`. */
  failureThreshold: failureThresholdSchema,
  initialStreamWindowSizeKB: positiveInt().optional(),
});
export type MeshInterpreterConfig = z.infer<typeof meshInterpreterSchema>;

/** The PEM and key bytes a mesh config's `tls` names (undefined: plaintext h2c). */
export interface MeshTlsFiles {
  /** Trusted CAs (`trustCerts` then `trustCertsBundle`), or null for the system's. */
  readonly roots: Buffer | null;
  readonly key: Buffer | null;
  readonly cert: Buffer | null;
}

/**
 * Reads the files of `config.tls` and checks that TLS can use them (throws, naming the files,
 * when one cannot be read or parsed, or the key does not match the certificate): the gRPC
 * channel is made later, when its module is loaded, and a bad file must still stop the start.
 */
export function readMeshTlsFiles(config: MeshInterpreterConfig): MeshTlsFiles | undefined {
  const tls = config.tls;
  if (tls === undefined) return undefined;
  const pems = [...(tls.trustCerts ?? []), ...(tls.trustCertsBundle ? [tls.trustCertsBundle] : [])];
  const files: MeshTlsFiles = {
    roots: pems.length === 0 ? null : Buffer.concat(pems.map((p) => readFileSync(p))),
    key: tls.clientAuth ? readFileSync(tls.clientAuth.keyPath) : null,
    cert: tls.clientAuth ? readFileSync(tls.clientAuth.certPath) : null,
  };
  try {
    createSecureContext({
      ...(files.roots ? { ca: files.roots } : {}),
      ...(files.key && files.cert ? { key: files.key, cert: files.cert } : {}),
    });
  } catch (e) {
    const names = [
      ...pems,
      ...(tls.clientAuth ? [tls.clientAuth.certPath, tls.clientAuth.keyPath] : []),
    ];
    throw new Error(`tls: cannot use ${names.join(", ")}: ${(e as Error).message}`);
  }
  return files;
}
