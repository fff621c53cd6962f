/**
 * Finagle's hand-written name-tree parser (`NameTreeParsers`), reproduced with its grammar,
 * whitespace and comment rules and its error messages.
 */
import { Dentry, Dtab, Prefix, type PrefixElem } from "./dtab.js";
import { DtabParseError } from "./dtab-parse-error.js";
import { isJavaDigit, isJavaWhitespace } from "./java-whitespace.js";
import { DEFAULT_WEIGHT, type NameTree, NameTree as NT, type Weighted } from "./name-tree.js";
import { isShowable, Path } from "./path.js";

const EOI = -1;
const BACKSLASH = 0x5c;
const SLASH = 0x2f;
const STAR = 0x2a;
const HASH = 0x23;
const NL = 0x0a;
const DOT = 0x2e;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

class Parser {
  #idx = 0;
  readonly #str: string;
  readonly #size: number;

  constructor(str: string) {
    this.#str = str;
    this.#size = str.length;
  }

  get #atEnd(): boolean {
    return this.#idx >= this.#size;
  }

  #peek(): number {
    return this.#idx >= this.#size ? EOI : this.#str.charCodeAt(this.#idx);
  }

  #charString(c: number): string {
    return c === EOI ? "end of input" : "'" + String.fromCharCode(c) + "'";
  }

  #illegal(expected: string, found: number | string): never {
    const s = this.#str;
    const i = this.#idx;
    const display = this.#atEnd ? `${s}[]` : `${s.slice(0, i)}[${s[i]}]${s.slice(i + 1)}`;
    const foundStr = typeof found === "string" ? found : this.#charString(found);
    throw new DtabParseError(
      `${expected} expected but ${foundStr} found at '${display}'`,
      s,
      Math.min(i, s.length),
    );
  }

  #maybeEat(c: number): boolean {
    if (this.#peek() !== c) return false;
    this.#idx++;
    return true;
  }

  #eat(c: number): void {
    if (!this.#maybeEat(c)) this.#illegal(this.#charString(c), this.#peek());
  }

  #eatWhitespace(): void {
    while (!this.#atEnd) {
      const c = this.#str.charCodeAt(this.#idx);
      if (c === HASH) {
        // A comment runs to the end of the line (the newline included).
        while (!this.#atEnd && this.#str.charCodeAt(this.#idx) !== NL) this.#idx++;
        if (!this.#atEnd) this.#idx++;
      } else if (isJavaWhitespace(c)) this.#idx++;
      else break;
    }
  }

  #ensureEnd(): void {
    if (!this.#atEnd) this.#illegal("end of input", this.#peek());
  }

  #isLabelChar(c: number): boolean {
    return c !== EOI && (isShowable(c) || c === BACKSLASH);
  }

  #parseHexChar(): number {
    const c = this.#peek();
    const v = c === EOI ? -1 : hexValue(c);
    if (v < 0) this.#illegal("hex char", c);
    this.#idx++;
    return v;
  }

  #parseLabel(): string {
    let out = "";
    do {
      const c = this.#peek();
      if (c !== EOI && isShowable(c)) {
        this.#idx++;
        out += String.fromCharCode(c);
      } else if (c === BACKSLASH) {
        this.#idx++;
        this.#eat(0x78); // 'x'
        const hi = this.#parseHexChar();
        const lo = this.#parseHexChar();
        out += String.fromCharCode((hi << 4) | lo);
      } else this.#illegal("label char", c);
    } while (this.#isLabelChar(this.#peek()));
    return out;
  }

  #parsePath(): Path {
    this.#eatWhitespace();
    this.#eat(SLASH);
    if (!this.#isLabelChar(this.#peek())) return Path.empty;
    const labels: string[] = [];
    do labels.push(this.#parseLabel());
    while (this.#maybeEat(SLASH));
    return Path.unsafeOf(labels);
  }

  #parseDentryPrefix(): Prefix {
    this.#eatWhitespace();
    this.#eat(SLASH);
    const c0 = this.#peek();
    if (!this.#isLabelChar(c0) && c0 !== STAR) return Prefix.empty;
    const elems: PrefixElem[] = [];
    do {
      if (this.#maybeEat(STAR)) elems.push(Prefix.any);
      else elems.push({ type: "label", value: this.#parseLabel() });
    } while (this.#maybeEat(SLASH));
    return Prefix.of(...elems);
  }

  #isNumberChar(c: number): boolean {
    return c !== EOI && (c === DOT || isJavaDigit(c));
  }

  #parseNumber(): number {
    let s = "";
    let seenDot = false;
    while (this.#isNumberChar(this.#peek())) {
      const c = this.#peek();
      if (c === DOT) {
        if (seenDot) this.#illegal("number char", c);
        seenDot = true;
      }
      s += String.fromCharCode(c);
      this.#idx++;
    }
    if (s === ".") this.#illegal("weight", DOT);
    // Java's Double.parseDouble accepts only ASCII digits; other Unicode digits fail there
    // with a NumberFormatException (an IllegalArgumentException).
    if (!/^[0-9]*\.?[0-9]*$/.test(s)) {
      throw new DtabParseError(`For input string: "${s}"`, this.#str, this.#idx);
    }
    return Number(s);
  }

  #parseTree(): NameTree<Path> {
    const trees: NameTree<Path>[] = [];
    do {
      trees.push(this.#parseTree1());
      this.#eatWhitespace();
    } while (this.#maybeEat(0x7c)); // '|'
    return trees.length > 1 ? { type: "alt", trees } : trees[0]!;
  }

  #parseTree1(): NameTree<Path> {
    const weighted: Weighted<Path>[] = [];
    do {
      weighted.push(this.#parseWeighted());
      this.#eatWhitespace();
    } while (this.#maybeEat(0x26)); // '&'
    return weighted.length > 1 ? { type: "union", weighted } : weighted[0]!.tree;
  }

  #parseSimple(): NameTree<Path> {
    this.#eatWhitespace();
    const c = this.#peek();
    switch (c) {
      case 0x28: {
        // '('
        this.#idx++;
        const tree = this.#parseTree();
        this.#eatWhitespace();
        this.#eat(0x29); // ')'
        return tree;
      }
      case SLASH:
        return NT.leaf(this.#parsePath());
      case 0x21: // '!'
        this.#idx++;
        return NT.fail;
      case 0x7e: // '~'
        this.#idx++;
        return NT.neg;
      case 0x24: // '$'
        this.#idx++;
        return NT.empty;
      default:
        return this.#illegal("simple", c);
    }
  }

  #parseWeighted(): Weighted<Path> {
    this.#eatWhitespace();
    let weight = DEFAULT_WEIGHT;
    if (this.#isNumberChar(this.#peek())) {
      weight = this.#parseNumber();
      this.#eatWhitespace();
      this.#eat(STAR);
      this.#eatWhitespace();
    }
    return { weight, tree: this.#parseSimple() };
  }

  #parseDentry(): Dentry {
    const prefix = this.#parseDentryPrefix();
    this.#eatWhitespace();
    this.#eat(0x3d); // '='
    this.#eat(0x3e); // '>'
    const tree = this.#parseTree();
    return new Dentry(prefix, tree);
  }

  #parseDtab(): Dtab {
    const dentries: Dentry[] = [];
    do {
      this.#eatWhitespace();
      if (!this.#atEnd) {
        dentries.push(this.#parseDentry());
        this.#eatWhitespace();
      }
    } while (this.#maybeEat(0x3b)); // ';'
    return Dtab.of(...dentries);
  }

  parseAllPath(): Path {
    const p = this.#parsePath();
    this.#eatWhitespace();
    this.#ensureEnd();
    return p;
  }

  parseAllNameTree(): NameTree<Path> {
    const t = this.#parseTree();
    this.#eatWhitespace();
    this.#ensureEnd();
    return t;
  }

  parseAllDentry(): Dentry {
    const d = this.#parseDentry();
    this.#eatWhitespace();
    this.#ensureEnd();
    return d;
  }

  parseAllDentryPrefix(): Prefix {
    const p = this.#parseDentryPrefix();
    this.#eatWhitespace();
    this.#ensureEnd();
    return p;
  }

  parseAllDtab(): Dtab {
    const d = this.#parseDtab();
    this.#eatWhitespace();
    this.#ensureEnd();
    return d;
  }
}

export function parsePathText(text: string): Path {
  return new Parser(text).parseAllPath();
}

export function parseNameTreeText(text: string): NameTree<Path> {
  return new Parser(text).parseAllNameTree();
}

export function parseDentryText(text: string): Dentry {
  return new Parser(text).parseAllDentry();
}

export function parseDentryPrefixText(text: string): Prefix {
  return new Parser(text).parseAllDentryPrefix();
}

export function parseDtabText(text: string): Dtab {
  return new Parser(text).parseAllDtab();
}
