/**
 * Linkerd's `admin.security` (1.4.5+): which admin paths are served. Paths fall in one of three
 * categories, each with its switch: the UI (dashboard, delegator, config and metrics JSON),
 * control (`/admin/shutdown`, `/logging.json`) and diagnostics (everything else).
 * `pathWhitelist` regexes are served even when their category is off; `pathBlacklist` regexes
 * are refused even when it is on. A refused path is answered 404, as Linkerd does.
 *
 * Beyond Linkerd: a control request from a browser page of another origin is refused (403):
 * `POST /admin/shutdown` is a "simple" cross-origin request a browser sends without a
 * preflight, so any web page an operator opens could otherwise stop the daemon. Browsers mark
 * such requests (`Origin`, `Sec-Fetch-Site`); curl and kubectl send neither.
 */
import type { AdminSecurityConfig } from "@l5d/config";

export type AdminCategory = "ui" | "control" | "diagnostics";

const UI: readonly RegExp[] = [
  /^\/$/,
  /^\/files\/.*$/,
  /^\/admin\/files\/.*$/,
  /^\/config[.]json$/,
  /^\/metrics[.]json$/,
  /^\/admin\/metrics[.]json$/,
  /^\/admin\/metrics$/,
  /^\/delegator$/,
  /^\/delegator[.]json$/,
  /^\/logging$/,
  /^\/help$/,
];
const CONTROL: readonly RegExp[] = [/^\/admin\/shutdown$/, /^\/logging[.]json$/];

/** Linkerd's category of an admin path. */
export function categoryOf(path: string): AdminCategory {
  if (UI.some((r) => r.test(path))) return "ui";
  if (CONTROL.some((r) => r.test(path))) return "control";
  return "diagnostics";
}

/** A whole-path regex, as Java's `Matcher.matches` reads one. */
function wholePath(source: string): RegExp {
  return new RegExp(`^(?:${source})$`);
}

export class AdminSecurity {
  readonly #whitelist: readonly RegExp[];
  readonly #blacklist: readonly RegExp[];

  constructor(readonly config: AdminSecurityConfig) {
    this.#whitelist = config.pathWhitelist.map(wholePath);
    this.#blacklist = config.pathBlacklist.map(wholePath);
  }

  /** Whether `path` is served (Linkerd's SecurityFilter). */
  allows(path: string): boolean {
    const category = categoryOf(path);
    const enabled =
      category === "ui"
        ? this.config.uiEnabled
        : category === "control"
          ? this.config.controlEnabled
          : this.config.diagnosticsEnabled;
    if (enabled) return !this.#blacklist.some((r) => r.test(path));
    return this.#whitelist.some((r) => r.test(path));
  }
}

/**
 * Why a control request is refused as cross-origin, or undefined: a browser's `Sec-Fetch-Site`
 * other than `same-origin`/`none`, or an `Origin` whose host is not the request's `Host`.
 */
export function crossOriginProblem(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): string | undefined {
  const site = headers["sec-fetch-site"];
  if (typeof site === "string" && site !== "same-origin" && site !== "none")
    return `a ${site} request (Sec-Fetch-Site)`;
  const origin = headers.origin;
  if (typeof origin !== "string") return undefined;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return `an unreadable Origin (${origin})`;
  }
  if (originHost !== headers.host) return `a request from another origin (${origin})`;
  return undefined;
}
