/**
 * Test certificates made on the fly with Debian's openssl (none are committed): a CA, a server
 * certificate for 127.0.0.1 / localhost and a client certificate signed by it, a second CA that
 * signed nothing of ours, and the server key as PKCS#8 DER (Linkerd's `.pk8`).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";

export interface TestCerts {
  readonly dir: string;
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly serverKeyDer: string;
  /** A second server certificate and key (same CA, same names): the rotation's new credentials. */
  readonly server2Cert: string;
  readonly server2Key: string;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly otherCaCert: string;
  /** File contents, for clients. */
  read(path: string): Buffer;
  remove(): void;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
}

/** `openssl` with its arguments as one string (no argument here has a space). */
function run(dir: string, args: string): void {
  openssl(dir, ...args.split(" "));
}

function ca(dir: string, name: string): void {
  run(
    dir,
    `req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=${name} -keyout ${name}.key -out ${name}.crt`,
  );
}

function signed(dir: string, name: string, caName: string, ext: string): void {
  run(dir, `req -newkey rsa:2048 -nodes -subj /CN=${name} -keyout ${name}.key -out ${name}.csr`);
  writeFileSync(join(dir, `${name}.ext`), ext);
  run(
    dir,
    `x509 -req -in ${name}.csr -CA ${caName}.crt -CAkey ${caName}.key -CAcreateserial -days 2 -extfile ${name}.ext -out ${name}.crt`,
  );
}

export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), "l5d-tls-"));
  ca(dir, "ca");
  ca(dir, "other-ca");
  signed(
    dir,
    "server",
    "ca",
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
  );
  signed(
    dir,
    "server2",
    "ca",
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
  );
  signed(dir, "client", "ca", "extendedKeyUsage=clientAuth\n");
  run(dir, "pkcs8 -topk8 -nocrypt -in server.key -outform DER -out server.pk8");
  const p = (f: string) => join(dir, f);
  return {
    dir,
    caCert: p("ca.crt"),
    serverCert: p("server.crt"),
    serverKey: p("server.key"),
    serverKeyDer: p("server.pk8"),
    server2Cert: p("server2.crt"),
    server2Key: p("server2.key"),
    clientCert: p("client.crt"),
    clientKey: p("client.key"),
    otherCaCert: p("other-ca.crt"),
    read: (path) => readFileSync(path),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Certificates for a test file: made before its tests, removed after; the object returned reads
 * them (inside a test).
 */
export function useTestCerts(): TestCerts {
  let certs: TestCerts | undefined;
  beforeAll(() => {
    certs = makeTestCerts();
  });
  afterAll(() => certs?.remove());
  return new Proxy({} as TestCerts, {
    get: (_, key) => (certs as unknown as Record<string | symbol, unknown>)[key],
  });
}
