/**
 * Small zod helpers with the error messages the config reference promises, for our own
 * schemas and for plugin authors (`positiveInt()` → `expected a positive integer`).
 */
import { z } from "zod";

type IssueInput = { readonly input?: unknown };

/** An error function that says `required` for a missing value and `text` otherwise. */
export function expected(text: string): { error: (iss: IssueInput) => string } {
  return { error: (iss) => (iss.input === undefined ? "required" : text) };
}

/** An integer ≥ 1. */
export function positiveInt(): z.ZodNumber {
  const e = expected("expected a positive integer");
  return z.number(e).int(e).min(1, e);
}

/** An integer ≥ 0. */
export function nonNegativeInt(): z.ZodNumber {
  const e = expected("expected a non-negative integer");
  return z.number(e).int(e).min(0, e);
}

/** A TCP port, 0..65535 (0 asks the OS for a free port). */
export function port(): z.ZodNumber {
  const e = expected("expected a port number (0-65535)");
  return z.number(e).int(e).min(0, e).max(65535, e);
}

/** A number within [min, max]. */
export function numberBetween(min: number, max: number): z.ZodNumber {
  const e = expected(`expected a number between ${min} and ${max}`);
  return z.number(e).min(min, e).max(max, e);
}

/** A non-negative number (e.g. a rate). */
export function nonNegativeNumber(): z.ZodNumber {
  const e = expected("expected a non-negative number");
  return z.number(e).min(0, e);
}

/** A non-empty string. */
export function nonEmptyString(): z.ZodString {
  const e = expected("expected a non-empty string");
  return z.string(e).min(1, e);
}

/** A boolean. */
export function bool(): z.ZodBoolean {
  return z.boolean(expected("expected true or false"));
}

/** A string that is a valid regular expression (the error names why it is not). */
export function regexString(): z.ZodString {
  return z.string(expected("expected a regular expression")).superRefine((s, ctx) => {
    try {
      new RegExp(s);
    } catch (e) {
      ctx.addIssue({
        code: "custom",
        message: `invalid regular expression: ${(e as Error).message}`,
      });
    }
  });
}

/**
 * The keys every namer config may carry (Linkerd's NamerConfig): `kind`, `prefix` (default
 * `/<kind>`, mounted under `/#`), `experimental`, and a namer-level `transformers` list.
 * Namer schemas spread this: `z.strictObject({ ...namerCommonShape, rootDir: ... })`.
 */
export const namerCommonShape = {
  kind: z.string(),
  /** Mounted at `/#` ++ prefix. Default `/<kind>` (Linkerd's `defaultPrefix`). */
  prefix: z.string(expected("expected a path such as /io.l5d.fs")).optional(),
  experimental: bool().optional(),
  /** Transformers applied to this namer's fully bound answers (validated by the config layer). */
  transformers: z.array(z.unknown(), expected("expected a list of transformers")).optional(),
};

/** The keys every transformer config may carry (Linkerd's TransformerConfig). */
export const transformerCommonShape = {
  kind: z.string(),
  /** The client-id prefix, under `/%`. Default depends on the kind (e.g. `/io.l5d.port/<port>`). */
  prefix: z.string(expected("expected a path such as /io.l5d.port")).optional(),
  experimental: bool().optional(),
};

/** The keys every other plugin config may carry. */
export const pluginCommonShape = {
  kind: z.string(),
  experimental: bool().optional(),
};

function describe(input: unknown): string {
  if (input === null) return "null";
  if (Array.isArray(input)) return "a list";
  if (typeof input === "object") return "a map";
  if (typeof input === "string")
    return `string '${input.length > 40 ? `${input.slice(0, 40)}…` : input}'`;
  return `${typeof input} ${String(input)}`;
}

const TYPE_NAMES: Record<string, string> = {
  object: "a map",
  array: "a list",
  string: "a string",
  number: "a number",
  boolean: "true or false",
  int: "an integer",
};

/** One zod issue as `{ path, message }` entries (unknown keys give one entry per key). */
export function issueMessages(
  issue: z.core.$ZodIssue,
): { path: (string | number)[]; message: string }[] {
  const path = issue.path.filter((k): k is string | number => typeof k !== "symbol");
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((k) => ({ path: [...path, k], message: "unknown key" }));
    case "invalid_type": {
      if (input === undefined) return [{ path, message: "required" }];
      if (issue.message && !issue.message.startsWith("Invalid input"))
        return [{ path, message: issue.message }];
      const want = TYPE_NAMES[issue.expected] ?? issue.expected;
      return [{ path, message: `expected ${want}, got ${describe(input)}` }];
    }
    case "invalid_value":
      if (issue.message && !issue.message.startsWith("Invalid input"))
        return [{ path, message: issue.message }];
      return [
        {
          path,
          message: `expected ${issue.values.map((v) => `'${String(v)}'`).join(" or ")}, got ${describe(input)}`,
        },
      ];
    case "invalid_union":
      return [
        { path, message: input === undefined ? "required" : `invalid value ${describe(input)}` },
      ];
    default:
      return [{ path, message: issue.message }];
  }
}
