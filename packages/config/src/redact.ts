/**
 * Secrets left out of what the admin server shows (`/config.json`): the values of keys that
 * name a secret (`authorization`, `password`, `token`, `secret`, API keys, credentials), every
 * value of a `headers` map (a telemeter's request headers carry API keys under any name), and the
 * user information of URLs (`https://user:pass@host`).
 */

export const REDACTED = "<redacted>";

const SECRET_KEY = /authorization|passw(or)?d|secret|token|api[-_]?key|credential|private[-_]?key/i;
const URL_USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/i;

/** A copy of `value` (plain JSON data) with secrets replaced by `<redacted>`. */
export function redactSecrets(value: unknown): unknown {
  return redact(value, false);
}

function redact(value: unknown, secret: boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => redact(v, secret));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>))
      out[k] = redact(v, secret || SECRET_KEY.test(k) || k.toLowerCase() === "headers");
    return out;
  }
  if (typeof value === "string") {
    if (secret) return REDACTED;
    return value.replace(URL_USERINFO, `$1${REDACTED}@`);
  }
  // numbers and booleans are no secret, even under a secret's key... unless they are the secret
  return secret && value !== undefined && value !== null ? REDACTED : value;
}
