/**
 * A server's `tls` config made into node TLS options: the files read, the key converted when it
 * is PKCS#8 DER (Linkerd's `.pk8`), and the whole checked once with `createSecureContext` so a
 * bad file, a key that does not match the certificate or an expired certificate stops the
 * daemon at start with the key named, not at the first handshake.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext, type TlsOptions } from "node:tls";
import type { ServerTlsConfig } from "@l5d/config";

/** A TLS config error naming its key (`tls.certPath: ...`). */
export class TlsConfigError extends Error {
  constructor(key: string, why: string) {
    super(`tls.${key}: ${why}`);
  }
}

/** A TLS file's bytes; an unreadable one is a `TlsConfigError` naming `key`. */
export function readTlsFile(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new TlsConfigError(
      key,
      `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
}

/** PEM as is; DER PKCS#8 (no PEM armour) converted to PEM; errors name `key`. */
export function pemKey(bytes: Buffer, path: string, key = "keyPath"): Buffer {
  if (bytes.includes("-----BEGIN")) return bytes;
  try {
    const key = createPrivateKey({ key: bytes, format: "der", type: "pkcs8" });
    return Buffer.from(key.export({ format: "pem", type: "pkcs8" }) as string);
  } catch (e) {
    throw new TlsConfigError(
      key,
      `${path} is neither a PEM key nor PKCS#8 DER (${(e as Error).message})`,
    );
  }
}

/** The first certificate of a PEM chain, checked for its validity dates. */
function checkCertificate(pem: Buffer, path: string, now = Date.now()): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (e) {
    throw new TlsConfigError(
      "certPath",
      `${path} is not a PEM certificate (${(e as Error).message})`,
    );
  }
  if (Date.parse(cert.validTo) < now)
    throw new TlsConfigError("certPath", `${path} expired on ${cert.validTo}`);
  if (Date.parse(cert.validFrom) > now)
    throw new TlsConfigError("certPath", `${path} is not valid before ${cert.validFrom}`);
}

/** Node TLS server options for `tls` (ALPN is the relay's). */
export function serverTlsOptions(tls: ServerTlsConfig): TlsOptions {
  const cert = readTlsFile("certPath", tls.certPath);
  checkCertificate(cert, tls.certPath);
  const key = pemKey(readTlsFile("keyPath", tls.keyPath), tls.keyPath);
  const ca = tls.caCertPath === undefined ? undefined : readTlsFile("caCertPath", tls.caCertPath);
  if (tls.requireClientAuth && ca === undefined)
    throw new TlsConfigError(
      "requireClientAuth",
      "needs caCertPath (the CA client certificates are checked against)",
    );
  const protocols = tls.enabledProtocols;
  const opts: TlsOptions = {
    cert,
    key,
    ...(ca === undefined ? {} : { ca }),
    requestCert: tls.requireClientAuth,
    rejectUnauthorized: tls.requireClientAuth,
    ...(tls.ciphers === undefined ? {} : { ciphers: tls.ciphers.join(":") }),
    ...(protocols === undefined
      ? {}
      : {
          minVersion: protocols.includes("TLSv1.2") ? "TLSv1.2" : "TLSv1.3",
          maxVersion: protocols.includes("TLSv1.3") ? "TLSv1.3" : "TLSv1.2",
        }),
  };
  try {
    createSecureContext(opts);
  } catch (e) {
    const m = (e as Error).message;
    throw /key values mismatch|KEY_VALUES_MISMATCH/i.test(m)
      ? new TlsConfigError(
          "keyPath",
          `${tls.keyPath} does not match the certificate ${tls.certPath}`,
        )
      : /cipher/i.test(m)
        ? new TlsConfigError("ciphers", m)
        : new TlsConfigError("certPath", m);
  }
  return opts;
}
