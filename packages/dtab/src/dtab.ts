/**
 * Delegation tables (Finagle's `Dtab`): an ordered list of dentries `prefix=>tree`.
 */
import { type NameTree, NameTree as NT } from "./name-tree.js";
import { parseDentryPrefixText, parseDentryText, parseDtabText } from "./parser.js";
import { type Path, showElem } from "./path.js";

/** A dentry prefix element: a byte-string label, or the `*` wildcard (one element, any value). */
export type PrefixElem =
  | { readonly type: "label"; readonly value: string }
  | { readonly type: "any" };

const ANY: PrefixElem = Object.freeze({ type: "any" });

/** A dentry prefix (Finagle's `Dentry.Prefix`): like a path, but `*` matches any one element. */
export class Prefix {
  static readonly empty: Prefix = new Prefix([]);
  static readonly any: PrefixElem = ANY;

  readonly elems: readonly PrefixElem[];
  #show: string | undefined;

  private constructor(elems: readonly PrefixElem[]) {
    this.elems = elems;
  }

  /** Parses prefix syntax (a path whose elements may be `*`); throws DtabParseError. */
  static read(text: string): Prefix {
    return parseDentryPrefixText(text);
  }

  /** Elements as latin1 label strings, or `Prefix.any` for a `*` wildcard. */
  static of(...elems: (string | PrefixElem)[]): Prefix {
    if (elems.length === 0) return Prefix.empty;
    return new Prefix(
      elems.map((e) => {
        if (typeof e !== "string") return e;
        if (e.length === 0) throw new RangeError("prefix elements must be non-empty");
        return { type: "label", value: e } as const;
      }),
    );
  }

  /** The prefix matching exactly `path`'s elements. */
  static fromPath(path: Path): Prefix {
    return Prefix.of(...path.elems);
  }

  get size(): number {
    return this.elems.length;
  }

  get isEmpty(): boolean {
    return this.elems.length === 0;
  }

  get show(): string {
    if (this.#show === undefined) {
      this.#show =
        "/" + this.elems.map((e) => (e.type === "any" ? "*" : showElem(e.value))).join("/");
    }
    return this.#show;
  }

  /** Whether the prefix is no longer than `path` and every label equals the path element. */
  matches(path: Path): boolean {
    if (this.elems.length > path.size) return false;
    for (let i = 0; i < this.elems.length; i++) {
      const e = this.elems[i]!;
      if (e.type === "label" && e.value !== path.elems[i]) return false;
    }
    return true;
  }

  equals(other: Prefix): boolean {
    if (this === other) return true;
    if (this.elems.length !== other.elems.length) return false;
    return this.elems.every((e, i) => {
      const o = other.elems[i]!;
      return e.type === "any" ? o.type === "any" : o.type === "label" && o.value === e.value;
    });
  }

  toString(): string {
    return this.show;
  }
}

/** One delegation rule `prefix=>dst`. */
export class Dentry {
  /** Finagle's `Dentry.nop` (`/\x2f=>~`), the root dentry of a delegation explanation. */
  static readonly nop: Dentry = new Dentry(Prefix.of("/"), { type: "neg" });

  constructor(
    readonly prefix: Prefix,
    readonly dst: NameTree<Path>,
  ) {}

  /** Parses one dentry; throws DtabParseError. */
  static read(text: string): Dentry {
    return parseDentryText(text);
  }

  get show(): string {
    return this.prefix.show + "=>" + NT.show(this.dst);
  }

  equals(other: Dentry): boolean {
    return this.prefix.equals(other.prefix) && NT.equals(this.dst, other.dst);
  }

  toString(): string {
    return this.show;
  }
}

export class Dtab {
  static readonly empty: Dtab = new Dtab([]);

  readonly dentries: readonly Dentry[];
  #show: string | undefined;

  constructor(dentries: readonly Dentry[]) {
    this.dentries = dentries;
  }

  /** Parses dtab text (`;`-separated dentries, `#` comments); throws DtabParseError. */
  static read(text: string): Dtab {
    return parseDtabText(text);
  }

  static of(...dentries: Dentry[]): Dtab {
    return dentries.length === 0 ? Dtab.empty : new Dtab(dentries);
  }

  get size(): number {
    return this.dentries.length;
  }

  get isEmpty(): boolean {
    return this.dentries.length === 0;
  }

  /** Finagle's `show`: dentries joined with `;`, no spaces around `=>`. */
  get show(): string {
    if (this.#show === undefined) this.#show = this.dentries.map((d) => d.show).join(";");
    return this.#show;
  }

  /**
   * One lookup step: every matching dentry, last first, its leaves extended by the residual
   * (the path minus the prefix's length). None → Neg; one → its tree; several → Alt.
   */
  lookup(path: Path): NameTree<Path> {
    const matches: NameTree<Path>[] = [];
    for (let i = this.dentries.length - 1; i >= 0; i--) {
      const d = this.dentries[i]!;
      if (d.prefix.matches(path)) {
        const residual = path.drop(d.prefix.size);
        matches.push(residual.isEmpty ? d.dst : NT.map(d.dst, (p) => p.concat(residual)));
      }
    }
    if (matches.length === 0) return NT.neg;
    if (matches.length === 1) return matches[0]!;
    return NT.alt(...matches);
  }

  /** Finagle's `++`: this dtab's entries, then `other`'s. */
  concat(other: Dtab): Dtab {
    if (other.isEmpty) return this;
    if (this.isEmpty) return other;
    return new Dtab([...this.dentries, ...other.dentries]);
  }

  /** Finagle's `+`: appends one dentry. */
  append(dentry: Dentry): Dtab {
    return new Dtab([...this.dentries, dentry]);
  }

  /** Removes `other`'s entries if they are exactly this dtab's leading entries; else `this`. */
  stripPrefix(other: Dtab): Dtab {
    if (this === other) return Dtab.empty;
    if (other.isEmpty) return this;
    if (other.size > this.size) return this;
    for (let i = 0; i < other.size; i++) {
      if (!this.dentries[i]!.equals(other.dentries[i]!)) return this;
    }
    return new Dtab(this.dentries.slice(other.size));
  }

  /** Every destination simplified; dentries whose destination simplifies to Neg removed. */
  get simplified(): Dtab {
    const out: Dentry[] = [];
    for (const d of this.dentries) {
      const s = NT.simplify(d.dst);
      if (s.type !== "neg") out.push(new Dentry(d.prefix, s));
    }
    return new Dtab(out);
  }

  /** Structural equality per dentry (prefixes and trees, weights included). */
  equals(other: Dtab): boolean {
    if (this === other) return true;
    return this.size === other.size && this.dentries.every((d, i) => d.equals(other.dentries[i]!));
  }

  toString(): string {
    return this.show;
  }
}
