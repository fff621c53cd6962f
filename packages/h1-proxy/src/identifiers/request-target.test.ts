import { describe, expect, it } from "vitest";
import {
  fieldValue,
  originForm,
  pathSegments,
  targetAuthority,
  targetPath,
  targetQuery,
} from "./request-target.js";

describe("request-target", () => {
  it.each([
    // target, origin-form, path, query, authority
    ["/a/b?q=1", "/a/b?q=1", "/a/b", "?q=1", undefined],
    ["/a/b", "/a/b", "/a/b", "", undefined],
    ["/a?x=http://b/c", "/a?x=http://b/c", "/a", "?x=http://b/c", undefined],
    ["/a?b?c", "/a?b?c", "/a", "?b?c", undefined],
    ["http://Host:80/a/b?q=1", "/a/b?q=1", "/a/b", "?q=1", "Host:80"],
    ["https://h/", "/", "/", "", "h"],
    ["http://h", "/", "/", "", "h"],
    ["http://h?q", "/?q", "/", "?q", "h"],
    ["http://user@h:8080/x", "/x", "/x", "", "user@h:8080"],
    ["*", "*", "*", "", undefined],
    ["web:443", "web:443", "web:443", "", undefined],
  ])("%s", (target, origin, path, query, authority) => {
    expect(originForm(target)).toBe(origin);
    expect(targetPath(target)).toBe(path);
    expect(targetQuery(target)).toBe(query);
    expect(targetAuthority(target)).toBe(authority);
  });

  it.each([
    ["/", []],
    ["", []],
    ["/a", ["a"]],
    ["/a/", ["a"]],
    ["/a/b//", ["a", "b"]],
    ["/a//b", ["a", "", "b"]],
    ["//a", ["", "a"]],
    ["web:443", []],
  ])('segments of %j: %j (Java\'s split("/").drop(1))', (path, want) => {
    expect(pathSegments(path)).toEqual(want);
  });

  it("fieldValue: Host from an absolute-form target, other fields as sent", () => {
    const origin: [string, string][] = [
      [":path", "/a"],
      ["host", "web"],
      ["x", "1"],
    ];
    expect(fieldValue(origin, "host")).toBe("web");
    expect(fieldValue(origin, "x")).toBe("1");
    expect(fieldValue(origin, "y")).toBe(undefined);
    const absolute: [string, string][] = [
      [":path", "http://books:81/a"],
      ["host", "web"],
    ];
    expect(fieldValue(absolute, "host")).toBe("books:81");
    expect(fieldValue(absolute, ":path")).toBe("http://books:81/a");
  });
});
