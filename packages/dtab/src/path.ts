/**
 * Paths: sequences of non-empty byte strings (Finagle's `Path`). Each element is held as a
 * latin1 JS string, one char per byte (char codes 0..255).
 */
import { parsePathText } from "./parser.js";

const SHOWABLE: readonly boolean[] = (() => {
  const t = new Array<boolean>(256).fill(false);
  const chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_:.#$%-";
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = true;
  return t;
})();

/** Whether a char code may appear unescaped in a path element (`[0-9A-Za-z_:.#$%-]`). */
export function isShowable(code: number): boolean {
  return code < 256 && SHOWABLE[code] === true;
}

const HEX = "0123456789abcdef";

/** Finagle's `showElem`: verbatim if every byte is showable, else every byte as `\xNN`. */
export function showElem(elem: string): string {
  for (let i = 0; i < elem.length; i++) {
    if (!isShowable(elem.charCodeAt(i))) {
      let out = "";
      for (let j = 0; j < elem.length; j++) {
        const b = elem.charCodeAt(j) & 0xff;
        out += "\\x" + HEX[b >> 4] + HEX[b & 0xf];
      }
      return out;
    }
  }
  return elem;
}

function checkElem(e: string): void {
  if (e.length === 0) throw new RangeError("path elements must be non-empty");
  for (let i = 0; i < e.length; i++) {
    if (e.charCodeAt(i) > 0xff) throw new RangeError("path elements are byte (latin1) strings");
  }
}

function utf8ToLatin1(s: string): string {
  return Buffer.from(s, "utf8").toString("latin1");
}

export class Path {
  /** The empty path `/`. */
  static readonly empty: Path = new Path([]);

  readonly elems: readonly string[];
  #show: string | undefined;

  private constructor(elems: readonly string[]) {
    this.elems = elems;
  }

  /** Parses Finagle path syntax (`/foo/bar`, `\xNN` escapes); throws DtabParseError. */
  static read(text: string): Path {
    return parsePathText(text);
  }

  /** A path of byte-string (latin1) elements. Elements must be non-empty. */
  static of(...elems: string[]): Path {
    if (elems.length === 0) return Path.empty;
    for (const e of elems) checkElem(e);
    return new Path(Object.freeze(elems.slice()));
  }

  /** A path of text elements, each UTF-8 encoded. */
  static utf8(...elems: string[]): Path {
    return Path.of(...elems.map(utf8ToLatin1));
  }

  /** @internal Builds a path from elements already known to be valid. */
  static unsafeOf(elems: readonly string[]): Path {
    return elems.length === 0 ? Path.empty : new Path(elems);
  }

  get size(): number {
    return this.elems.length;
  }

  get isEmpty(): boolean {
    return this.elems.length === 0;
  }

  /** Finagle's `show`: `/` + elements joined by `/`, each element shown by `showElem`. */
  get show(): string {
    if (this.#show === undefined) {
      this.#show = this.elems.length === 0 ? "/" : "/" + this.elems.map(showElem).join("/");
    }
    return this.#show;
  }

  /** Element-wise prefix test (`/foo` is not a prefix of `/foobar`). */
  startsWith(prefix: Path): boolean {
    if (prefix.size > this.size) return false;
    for (let i = 0; i < prefix.size; i++) {
      if (prefix.elems[i] !== this.elems[i]) return false;
    }
    return true;
  }

  drop(n: number): Path {
    if (n <= 0) return this;
    return Path.unsafeOf(this.elems.slice(n));
  }

  take(n: number): Path {
    if (n >= this.size) return this;
    return Path.unsafeOf(this.elems.slice(0, Math.max(0, n)));
  }

  /** Finagle's `++`. */
  concat(other: Path): Path {
    if (other.isEmpty) return this;
    if (this.isEmpty) return other;
    return new Path([...this.elems, ...other.elems]);
  }

  equals(other: Path): boolean {
    if (this === other) return true;
    if (this.size !== other.size) return false;
    for (let i = 0; i < this.size; i++) {
      if (this.elems[i] !== other.elems[i]) return false;
    }
    return true;
  }

  /** Element `i` decoded as UTF-8 text. */
  elemUtf8(i: number): string {
    const e = this.elems[i];
    if (e === undefined) throw new RangeError(`path element ${i} out of range (size ${this.size})`);
    return Buffer.from(e, "latin1").toString("utf8");
  }

  /** All elements decoded as UTF-8 text. */
  get utf8Elems(): string[] {
    return this.elems.map((_, i) => this.elemUtf8(i));
  }

  toString(): string {
    return this.show;
  }
}
