/**
 * The certificates of the series' TLS edition (linkerd-tls.yml), made with openssl for the demo
 * and the tests (none are committed): a CA (`cacertificate.pem`, the outgoing routers' trustCerts) and one
 * certificate for every node's incoming router, named `linkerd` as the outgoing routers'
 * `commonName` expects (`certificate.pem`, its key as PKCS#8 DER `key.pk8`, as the series had).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

function openssl(dir, args) {
  execFileSync("openssl", args.split(" "), { cwd: dir, stdio: "pipe" });
}

/**
 * Writes the three files into `dir` (made if missing); returns `dir`. Throws when openssl is
 * missing or fails.
 * @param {string} dir
 * @returns {string}
 */
export function makeLinkerdCerts(dir) {
  mkdirSync(dir, { recursive: true });
  openssl(dir, "ecparam -name prime256v1 -genkey -noout -out ca.key");
  openssl(
    dir,
    "req -x509 -new -key ca.key -out cacertificate.pem -days 2 -subj /CN=l5d-e2e-ca -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign",
  );
  openssl(dir, "ecparam -name prime256v1 -genkey -noout -out key.pem");
  openssl(dir, "req -new -key key.pem -out cert.csr -subj /CN=linkerd");
  writeFileSync(join(dir, "ext.cnf"), "subjectAltName=DNS:linkerd\nextendedKeyUsage=serverAuth\n");
  openssl(
    dir,
    "x509 -req -in cert.csr -CA cacertificate.pem -CAkey ca.key -CAcreateserial -out certificate.pem -days 2 -extfile ext.cnf",
  );
  openssl(dir, "pkcs8 -topk8 -nocrypt -in key.pem -outform DER -out key.pk8");
  return dir;
}
