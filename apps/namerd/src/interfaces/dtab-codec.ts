/**
 * The dtab media types of namerd's HTTP API (Linkerd's DtabCodec): `application/json` (a list
 * of `{"prefix","dst"}`) and `application/dtab` / `text/plain` (the dtab's text). Reading
 * reports the exact parse error, which the controller returns with its 400.
 */
import { Dtab, NameTree } from "@l5d/dtab";

export type DtabMediaType = "application/json" | "application/dtab" | "text/plain";

export interface DtabCodec {
  readonly mediaType: DtabMediaType;
  write(dtab: Dtab): string;
  /** Parses a request body; throws an Error whose message says what is wrong. */
  read(body: string): Dtab;
}

const JSON_CODEC: DtabCodec = {
  mediaType: "application/json",
  write: (dtab) => JSON.stringify(dtabToJson(dtab)),
  read(body) {
    let v: unknown;
    try {
      v = JSON.parse(body);
    } catch (e) {
      throw new Error(`invalid JSON: ${(e as Error).message}`);
    }
    return dtabFromJson(v);
  },
};

function textCodec(mediaType: "application/dtab" | "text/plain"): DtabCodec {
  return { mediaType, write: (dtab) => dtab.show, read: (body) => Dtab.read(body) };
}

const CODECS: Readonly<Record<string, DtabCodec>> = {
  "application/json": JSON_CODEC,
  "application/dtab": textCodec("application/dtab"),
  "text/plain": textCodec("text/plain"),
};

/** The codec for a `Content-Type` (parameters such as `; charset=utf-8` ignored). */
export function codecForContentType(contentType: string | undefined): DtabCodec | undefined {
  if (contentType === undefined) return undefined;
  return CODECS[mediaTypeOf(contentType)];
}

/** The first acceptable codec in `Accept` order (Linkerd ignores q-values too); JSON by default. */
export function codecForAccept(accept: string | undefined): DtabCodec {
  for (const part of (accept ?? "").split(",")) {
    const c = CODECS[mediaTypeOf(part)];
    if (c) return c;
  }
  return JSON_CODEC;
}

function mediaTypeOf(value: string): string {
  return (value.split(";")[0] ?? "").trim().toLowerCase();
}

/** A dtab as Linkerd's JSON: `[{"prefix":"/svc","dst":"/#/io.l5d.fs"}]`. */
export function dtabToJson(dtab: Dtab): { prefix: string; dst: string }[] {
  return dtab.dentries.map((d) => ({ prefix: d.prefix.show, dst: NameTree.show(d.dst) }));
}

/** Parses Linkerd's dtab JSON, naming the entry and key at fault. */
export function dtabFromJson(v: unknown): Dtab {
  if (!Array.isArray(v)) throw new Error("expected a JSON list of {prefix, dst} dentries");
  const text = v
    .map((e: unknown, i) => {
      const o = e as { prefix?: unknown; dst?: unknown } | null;
      if (typeof o !== "object" || o === null) throw new Error(`dentry ${i}: expected an object`);
      if (typeof o.prefix !== "string") throw new Error(`dentry ${i}: 'prefix' must be a string`);
      if (typeof o.dst !== "string") throw new Error(`dentry ${i}: 'dst' must be a string`);
      return `${o.prefix} => ${o.dst}`;
    })
    .join(";\n");
  return Dtab.read(text);
}
