/**
 * A strict parser of the Prometheus text format 0.0.4 for tests: metric and label name
 * grammar, label value escapes, sample values, one TYPE line per family before its samples,
 * samples of a family contiguous, no duplicate series. Throws on anything invalid.
 */
export interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

export interface Family {
  readonly type: string;
  readonly samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function familyOf(name: string, families: Map<string, Family>): string {
  if (families.has(name)) return name;
  for (const suffix of ["_sum", "_count", "_bucket"]) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      const f = families.get(base);
      if (f && (f.type === "summary" || f.type === "histogram")) return base;
    }
  }
  return name;
}

function parseValue(s: string): number {
  if (s === "NaN") return Number.NaN;
  if (s === "+Inf") return Number.POSITIVE_INFINITY;
  if (s === "-Inf") return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`bad value ${s}`);
  return Number(s);
}

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const finished = new Set<string>();
  const series = new Set<string>();
  let current: string | undefined;
  if (text.length > 0 && !text.endsWith("\n")) throw new Error("text must end with a newline");
  for (const [i, line] of text.split("\n").entries()) {
    if (line === "") continue;
    const where = `line ${i + 1}: ${line}`;
    if (line.startsWith("#")) {
      const m = /^# (TYPE|HELP) (\S+) ?(.*)$/.exec(line);
      if (!m) continue; // a comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`bad metric name: ${where}`);
      if (kind === "TYPE") {
        if (!["counter", "gauge", "summary", "histogram", "untyped"].includes(rest))
          throw new Error(`bad type: ${where}`);
        if (families.has(name)) throw new Error(`second TYPE for ${name}: ${where}`);
        if (current !== undefined) finished.add(current);
        families.set(name, { type: rest, samples: [] });
        current = name;
      }
      continue;
    }
    const m = /^([^\s{]+)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/.exec(line);
    if (!m) throw new Error(`bad sample: ${where}`);
    const name = m[1]!;
    if (!NAME.test(name)) throw new Error(`bad metric name: ${where}`);
    const labels: Record<string, string> = {};
    let body = m[3] ?? "";
    while (body.length > 0) {
      const lm = /^\s*([^=\s]+)\s*=\s*"((?:[^"\\]|\\[\\"n])*)"\s*(,|$)/.exec(body);
      if (!lm) throw new Error(`bad labels: ${where}`);
      const ln = lm[1]!;
      if (!LABEL.test(ln)) throw new Error(`bad label name ${ln}: ${where}`);
      if (ln in labels) throw new Error(`duplicate label ${ln}: ${where}`);
      labels[ln] = lm[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
      body = body.slice(lm[0].length);
    }
    const value = parseValue(m[4]!);
    const fam = familyOf(name, families);
    if (finished.has(fam)) throw new Error(`samples of ${fam} are not contiguous: ${where}`);
    if (current !== fam) {
      if (current !== undefined) finished.add(current);
      if (!families.has(fam)) families.set(fam, { type: "untyped", samples: [] });
      current = fam;
    }
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(key)) throw new Error(`duplicate series: ${where}`);
    series.add(key);
    families.get(fam)!.samples.push({ name, labels, value });
  }
  return families;
}
