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
import { type TlsReloader, watchTlsFiles } from "./tls-reload.js";

/** Every client TLS made, by its config (rotation reloads them all). */
const made = new Map<string, { tls: UpstreamTls; cfg: ClientTlsConfig }>();

/** The upstream TLS of a client config (files read on first use; throws `TlsConfigError`). */
export function clientTls(cfg: ClientTlsConfig): UpstreamTls {
  const json = JSON.stringify(cfg);
  const known = made.get(json);
  if (known !== undefined) return known.tls;
  const hash = createHash("sha256").update(json).digest("hex").slice(0, 8);
  const tls: UpstreamTls = {
    id: `${cfg.commonName ?? "*"} ${hash}`,
    options: connectionOptions(cfg),
  };
  made.set(json, { tls, cfg });
  return tls;
}

/** The files a client TLS config reads. */
export function clientTlsFiles(cfg: ClientTlsConfig): string[] {
  return [
    ...(cfg.trustCerts ?? []),
    ...(cfg.trustCertsBundle === undefined ? [] : [cfg.trustCertsBundle]),
    ...(cfg.clientAuth === undefined ? [] : [cfg.clientAuth.certPath, cfg.clientAuth.keyPath]),
  ];
}

/**
 * Rotation: when any of `files` changes, every client TLS made so far is loaded again and its
 * options replaced (new upstream connections use them); a bad file keeps the old ones.
 */
export function watchClientTls(
  files: readonly string[],
  onReload: () => void,
  onError: (why: string) => void,
): TlsReloader {
  return watchTlsFiles(
    files,
    () => [...made.values()].map((m) => ({ m, options: connectionOptions(m.cfg) })),
    (loaded) => {
      for (const { m, options } of loaded) m.tls.options = options;
      onReload();
    },
    onError,
  );
}

function connectionOptions(cfg: ClientTlsConfig): ConnectionOptions {
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
  return options;
}
