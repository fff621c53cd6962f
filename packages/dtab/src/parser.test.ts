import { describe, expect, it } from "vitest";
import { Dentry, Dtab, Prefix } from "./dtab.js";
import { DtabParseError } from "./dtab-parse-error.js";
import { NameTree } from "./name-tree.js";
import { Path } from "./path.js";

function err(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DtabParseError);
    return (e as Error).message;
  }
  throw new Error("expected a parse error");
}

describe("Path.read", () => {
  it("parses paths and the empty path", () => {
    expect(Path.read("/").elems).toEqual([]);
    expect(Path.read("/").show).toBe("/");
    expect(Path.read("/foo/bar").elems).toEqual(["foo", "bar"]);
    expect(Path.read("  /foo/bar  ").show).toBe("/foo/bar");
    expect(Path.read("/#/io.l5d.k8s/a_b:c%d-e$").elems).toEqual(["#", "io.l5d.k8s", "a_b:c%d-e$"]);
  });
  it("decodes \\xNN escapes and prints showable bytes unescaped", () => {
    expect(Path.read("/\\x66\\x6f\\x6F").show).toBe("/foo");
    expect(Path.read("/a\\x2fb").elems).toEqual(["a/b"]);
    expect(Path.read("/a\\x2fb").show).toBe("/\\x61\\x2f\\x62");
    expect(Path.read("/\\x2a").show).toBe("/\\x2a");
    expect(Path.utf8("é").show).toBe("/\\xc3\\xa9");
    expect(Path.read("/\\xc3\\xa9").elemUtf8(0)).toBe("é");
    expect(Path.read("/%2F").elems).toEqual(["%2F"]);
  });
  it("rejects bad escapes: only lower-case x, two hex digits", () => {
    expect(err(() => Path.read("/a\\X41"))).toBe("'x' expected but 'X' found at '/a\\[X]41'");
    expect(err(() => Path.read("/a\\x4"))).toBe(
      "hex char expected but end of input found at '/a\\x4[]'",
    );
    expect(err(() => Path.read("/a\\xg0"))).toBe("hex char expected but 'g' found at '/a\\x[g]0'");
  });
  it("gives Finagle's error messages", () => {
    expect(err(() => Path.read("invalid-param"))).toBe(
      "'/' expected but 'i' found at '[i]nvalid-param'",
    );
    expect(err(() => Path.read("/foo^bar"))).toBe(
      "end of input expected but '^' found at '/foo[^]bar'",
    );
    expect(err(() => Path.read("/foo/bar/"))).toBe(
      "label char expected but end of input found at '/foo/bar/[]'",
    );
    expect(err(() => Path.read("//"))).toBe("end of input expected but '/' found at '/[/]'");
    expect(err(() => Path.read("/a//b"))).toBe("label char expected but '/' found at '/a/[/]b'");
    expect(err(() => Path.read("/a b"))).toBe("end of input expected but 'b' found at '/a [b]'");
    expect(err(() => Path.read(""))).toBe("'/' expected but end of input found at '[]'");
    expect(err(() => Path.read("/a*"))).toBe("end of input expected but '*' found at '/a[*]'");
  });
  it("treats # in whitespace position as a comment, inside a label as a char", () => {
    expect(Path.read("/a # note").show).toBe("/a");
    expect(Path.read("/a#b").elems).toEqual(["a#b"]);
    expect(Path.read("# c\n/x").show).toBe("/x");
  });
  it("uses Java whitespace rules", () => {
    expect(Path.read("\t\n\u000b\f\r\u001c\u001f /a\u2003\u3000").show).toBe("/a");
    expect(err(() => Path.read("\u00a0/a"))).toBe(
      "'/' expected but '\u00a0' found at '[\u00a0]/a'",
    );
  });
});

describe("Dentry prefixes", () => {
  it("parses * wildcards as whole elements only", () => {
    const d = Dentry.read("/a/*/c=>/d");
    expect(d.prefix.elems).toEqual([
      { type: "label", value: "a" },
      { type: "any" },
      { type: "label", value: "c" },
    ]);
    expect(d.show).toBe("/a/*/c=>/d");
    expect(err(() => Dtab.read("/foo/*bar=>/x"))).toBe(
      "'=' expected but 'b' found at '/foo/*[b]ar=>/x'",
    );
    expect(Prefix.read("/\\x2a").elems).toEqual([{ type: "label", value: "*" }]);
    expect(Prefix.read("/\\x2a").show).toBe("/\\x2a");
    expect(Prefix.read("/").show).toBe("/");
  });
});

describe("NameTree.read", () => {
  it("gives & precedence over |", () => {
    const t = NameTree.read("/a & /b | /c & /d");
    expect(t).toEqual(
      NameTree.alt(
        NameTree.union(NameTree.leaf(Path.read("/a")), NameTree.leaf(Path.read("/b"))),
        NameTree.union(NameTree.leaf(Path.read("/c")), NameTree.leaf(Path.read("/d"))),
      ),
    );
  });
  it("keeps parenthesised nesting and flattens same-level operators", () => {
    const t = NameTree.read("(/a & /b) & /c");
    expect(t.type).toBe("union");
    if (t.type === "union") expect(t.weighted[0]!.tree.type).toBe("union");
    const flat = NameTree.read("/a|/b|/c");
    expect(flat.type === "alt" && flat.trees.length).toBe(3);
  });
  it("parses weights like Double.parseDouble and drops a lone weight", () => {
    const t = NameTree.read(".5*/a & 1.*/b & 01 * /c & 0*/d");
    expect(t.type === "union" && t.weighted.map((w) => w.weight)).toEqual([0.5, 1, 1, 0]);
    expect(NameTree.read("3 * /a")).toEqual(NameTree.leaf(Path.read("/a")));
  });
  it("parses ! ~ $", () => {
    expect(NameTree.read("!")).toBe(NameTree.fail);
    expect(NameTree.read(" ~ ")).toBe(NameTree.neg);
    expect(NameTree.read("$")).toBe(NameTree.empty);
  });
  it("rejects bad trees with Finagle's messages", () => {
    expect(err(() => NameTree.read("()"))).toBe("simple expected but ')' found at '([)]'");
    expect(err(() => NameTree.read(""))).toBe("simple expected but end of input found at '[]'");
    expect(err(() => NameTree.read("-1*/a"))).toBe("simple expected but '-' found at '[-]1*/a'");
    expect(err(() => NameTree.read("1e3*/a"))).toBe("'*' expected but 'e' found at '1[e]3*/a'");
    expect(err(() => NameTree.read("0.1.2*/a"))).toBe(
      "number char expected but '.' found at '0.1[.]2*/a'",
    );
    expect(err(() => NameTree.read(". * /b"))).toBe("weight expected but '.' found at '.[ ]* /b'");
    expect(err(() => NameTree.read("(/a"))).toBe("')' expected but end of input found at '(/a[]'");
  });
});

describe("Dtab.read", () => {
  it("parses ; separated dentries with optional spaces and one trailing ;", () => {
    const d = Dtab.read(" /a => /b ; /c=>/d;  ");
    expect(d.show).toBe("/a=>/b;/c=>/d");
    expect(Dtab.read("").isEmpty).toBe(true);
    expect(Dtab.read("  # only a comment\n ").isEmpty).toBe(true);
  });
  it("rejects empty entries, newlines and commas as separators, split =>", () => {
    expect(err(() => Dtab.read(";"))).toBe("'/' expected but ';' found at '[;]'");
    expect(err(() => Dtab.read("/a=>/b;;/c=>/d"))).toBe(
      "'/' expected but ';' found at '/a=>/b;[;]/c=>/d'",
    );
    expect(err(() => Dtab.read("/a=>/b;;"))).toBe("'/' expected but ';' found at '/a=>/b;[;]'");
    expect(err(() => Dtab.read("/a=>/b\n/c=>/d"))).toBe(
      "end of input expected but '/' found at '/a=>/b\n[/]c=>/d'",
    );
    expect(err(() => Dtab.read("/a=>/b,/c=>/d"))).toBe(
      "end of input expected but ',' found at '/a=>/b[,]/c=>/d'",
    );
    expect(err(() => Dtab.read("/a = > /b"))).toBe("'>' expected but ' ' found at '/a =[ ]> /b'");
  });
  it("handles # comments and # label characters", () => {
    expect(Dtab.read("# header\n/a=>/b; # trailing\n/c=>/d # end").show).toBe("/a=>/b;/c=>/d");
    expect(Dtab.read("/a=>/b#c").dentries[0]!.dst).toEqual(NameTree.leaf(Path.of("b#c")));
    expect(Dtab.read("/#foo=>/x").dentries[0]!.prefix.show).toBe("/#foo");
    expect(err(() => Dtab.read("/a => #/b"))).toBe(
      "simple expected but end of input found at '/a => #/b[]'",
    );
  });
  it("matches the documented error examples", () => {
    expect(err(() => Dtab.read("invalid-param"))).toBe(
      "'/' expected but 'i' found at '[i]nvalid-param'",
    );
    expect(err(() => Dtab.read("/virtual/qa/limesurvey => /actual/{outage};"))).toBe(
      "label char expected but '{' found at '/virtual/qa/limesurvey => /actual/[{]outage};'",
    );
    expect(err(() => Dtab.read("/a => . * /b"))).toBe(
      "weight expected but '.' found at '/a => .[ ]* /b'",
    );
  });
  it("prints the DelegateApiHandlerTest dtab exactly", () => {
    const text = "/beh=>/#/error;/bah/humbug=>/$/inet/127.1/8080;/foo=>/bah | /beh | /$/fail";
    expect(Dtab.read(text).show).toBe(text);
    expect(Dentry.nop.show).toBe("/\\x2f=>~");
  });
  it("reports the error index on the DtabParseError", () => {
    try {
      Dtab.read("/a=>/b;;");
    } catch (e) {
      expect((e as DtabParseError).index).toBe(7);
      expect((e as DtabParseError).input).toBe("/a=>/b;;");
    }
  });
});
