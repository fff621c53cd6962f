/**
 * A client's `tls` config (Linkerd's TlsClientConfig) made into the data plane's `UpstreamTls`:
 * the CA and client-certificate files read once (cached per config), node connection options
 * (SNI and the certificate check against `commonName`, the trusted CAs, the client certificate
 * for mutual TLS) and an id that keeps these connections apart from others to the same address.
 */
import { createHash } from "node:crypto";
import type { ConnectionOptions } from "node:tls";
import type { ClientTlsConfig } from "@l5d/config";
import type { UpstreamTls } from "@l5d/h2-proxy";
import { pemKey, readTlsFile } from "./server-tls.js";

const made = new Map<string, UpstreamTls>();

/** The upstream TLS of a client config (files read on first use; throws `TlsConfigError`). */
export function clientTls(cfg: ClientTlsConfig): UpstreamTls {
  const json = JSON.stringify(cfg);
  const known = made.get(json);
  if (known !== undefined) return known;
  const ca: Buffer[] = [];
  cfg.trustCerts?.forEach((p, i) => {
    ca.push(readTlsFile(`trustCerts[${i}]`, p));
  });
  if (cfg.trustCertsBundle !== undefined)
    ca.push(readTlsFile("trustCertsBundle", cfg.trustCertsBundle));
  const auth = cfg.clientAuth;
  const options: ConnectionOptions = {
    ...(cfg.commonName === undefined ? {} : { servername: cfg.commonName }),
    ...(ca.length === 0 ? {} : { ca }),
    rejectUnauthorized: cfg.disableValidation !== true,
    ...(auth === undefined
      ? {}
      : {
          cert: readTlsFile("clientAuth.certPath", auth.certPath),
          key: pemKey(
            readTlsFile("clientAuth.keyPath", auth.keyPath),
            auth.keyPath,
            "clientAuth.keyPath",
          ),
        }),
  };
  const hash = createHash("sha256").update(json).digest("hex").slice(0, 8);
  const tls: UpstreamTls = { id: `${cfg.commonName ?? "*"} ${hash}`, options };
  made.set(json, tls);
  return tls;
}
