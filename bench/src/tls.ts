/**
 * The TLS material of a run's `-tls` cases (issue #16): a CA and one server certificate, made
 * with openssl in the run's scratch directory (never committed) by the same helper the demo and
 * the e2e tests use (deploy/local/tls-certs.mjs). The proxies under test present the certificate
 * to h2load, the backend presents it to the proxies, and the proxies check it against the CA
 * and the name `linkerd`, as a mesh's outgoing router checks the next node's.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { makeLinkerdCerts } from "../../deploy/local/tls-certs.mjs";

/** Files (absolute paths) and the name the certificate carries. */
export interface BenchTls {
  /** the CA certificate (PEM): what the proxies and the probe trust. */
  readonly caCert: string;
  /** the server certificate (PEM), for the proxies' listeners and the backend's TLS port. */
  readonly cert: string;
  /** its key (PEM). */
  readonly key: string;
  /** the certificate's name: the proxies' SNI and the name they check (`commonName`). */
  readonly serverName: string;
}

/** The name deploy/local/tls-certs.mjs puts in the certificate. */
export const BENCH_TLS_NAME = "linkerd";

/** Makes the certificates in `<dir>/certs`; throws when openssl is missing or fails. */
export function makeBenchTls(dir: string): BenchTls {
  const certs = makeLinkerdCerts(join(dir, "certs"));
  return {
    caCert: join(certs, "cacertificate.pem"),
    cert: join(certs, "certificate.pem"),
    key: join(certs, "key.pem"),
    serverName: BENCH_TLS_NAME,
  };
}

/** What a client (the probe) needs to reach a TLS port and check it: the CA's bytes and the name. */
export function clientTlsOf(tls: BenchTls): { ca: Buffer; servername: string } {
  return { ca: readFileSync(tls.caCert), servername: tls.serverName };
}
