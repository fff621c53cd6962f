#!/usr/bin/env node
// `node deploy/local/make-certs.mjs <dir>`: the TLS edition's certificates (a CA and one for the
// name `linkerd`, key as PKCS#8 DER) made with openssl into <dir>, readable by the images' user.
import { chmodSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { makeLinkerdCerts } from "./tls-certs.mjs";

const dir = process.argv[2];
if (dir === undefined) {
  console.error("usage: node deploy/local/make-certs.mjs <dir>");
  process.exit(1);
}
makeLinkerdCerts(dir);
// the containers run as 1000:1000: the files must be readable by them
chmodSync(dir, 0o755);
for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644);
console.log(`certificates in ${dir}: cacertificate.pem, certificate.pem, key.pk8`);
