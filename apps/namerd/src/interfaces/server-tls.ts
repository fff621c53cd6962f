/**
 * The `tls` block of namerd's TLS-capable interfaces (`io.l5d.mesh`,
 * `io.l5d.thriftNameInterpreter`): Linkerd's server TLS keys, with its defaults.
 */
import { bool, nonEmptyString } from "@l5d/config";
import { z } from "zod";

export const interfaceTlsSchema = z.strictObject({
  certPath: nonEmptyString(),
  keyPath: nonEmptyString(),
  caCertPath: nonEmptyString().optional(),
  requireClientAuth: bool().default(false),
});
export type InterfaceTlsConfig = z.infer<typeof interfaceTlsSchema>;
