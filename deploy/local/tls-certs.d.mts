// Types of tls-certs.mjs (for the TypeScript tests).
export function makeLinkerdCerts(dir: string): string;
