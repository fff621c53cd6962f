/**
 * Linkerd's PathMatcher (io.l5d.rewrite): a `/`-separated pattern whose segments are literals
 * (compared to an element's shown form), `*` (any one element) or contain `{var}` captures
 * (the segment becomes a regex, each `{var}` a greedy `(.*)`, searched unanchored). It is a
 * prefix match: elements after the pattern are discarded.
 */
import { Path, showElem } from "@l5d/dtab";

type Segment =
  | { readonly type: "literal"; readonly text: string }
  | { readonly type: "any" }
  | { readonly type: "capture"; readonly regex: RegExp; readonly names: readonly string[] };

const VAR = /\{([A-Za-z0-9.:_-]+)\}/g;

/** Thrown when a match cannot be completed (Linkerd throws too; the lookup then fails). */
export class PathMatcherError extends Error {
  override readonly name = "PathMatcherError";
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function compile(seg: string): Segment {
  if (seg === "*") return { type: "any" };
  const names: string[] = [];
  let source = "";
  let last = 0;
  for (const m of seg.matchAll(VAR)) {
    source += escapeRegex(seg.slice(last, m.index)) + "(.*)";
    names.push(m[1] ?? "");
    last = m.index + m[0].length;
  }
  if (names.length === 0) return { type: "literal", text: seg };
  source += escapeRegex(seg.slice(last));
  return { type: "capture", regex: new RegExp(source), names };
}

export class PathMatcher {
  readonly #segments: readonly Segment[];

  constructor(readonly pattern: string) {
    this.#segments = pattern
      .split("/")
      .filter((s, i, all) => s !== "" || (i > 0 && i < all.length - 1))
      .map(compile);
  }

  /** The captured variables, or undefined when `path` does not match. */
  extract(path: Path): Map<string, string> | undefined {
    const vars = new Map<string, string>();
    for (let i = 0; i < this.#segments.length; i++) {
      const seg = this.#segments[i] as Segment;
      const elem = path.elems[i];
      if (elem === undefined) {
        if (seg.type === "any")
          throw new PathMatcherError(`pattern ${this.pattern}: no element left for '*'`);
        return undefined;
      }
      const shown = showElem(elem);
      if (seg.type === "literal") {
        if (seg.text !== shown) return undefined;
      } else if (seg.type === "capture") {
        const m = seg.regex.exec(shown);
        if (!m) return undefined;
        seg.names.forEach((n, j) => {
          vars.set(n, m[j + 1] ?? "");
        });
      }
    }
    return vars;
  }

  /** Replaces every `{var}` in `template` with its value. */
  static substitute(vars: ReadonlyMap<string, string>, template: string): string {
    let out = template;
    for (const [k, v] of vars) out = out.split(`{${k}}`).join(v);
    return out;
  }

  /** Matches and builds the new path (Path.read of the substituted template; may throw). */
  substitutePath(path: Path, template: string): Path | undefined {
    const vars = this.extract(path);
    return vars === undefined ? undefined : Path.read(PathMatcher.substitute(vars, template));
  }
}
