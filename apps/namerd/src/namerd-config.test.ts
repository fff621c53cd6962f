/** namerd's config: Linkerd's keys and defaults, and every error named by its key path. */
import { describe, expect, it } from "vitest";
import { parseNamerdConfig } from "./namerd-config.js";
import { createNamerdRegistries } from "./plugins.js";

const parse = (text: string) => parseNamerdConfig(text, createNamerdRegistries());

function errors(text: string): string[] {
  const r = parse(text);
  if (r.ok) throw new Error("expected errors");
  return r.errors.map((e) => `${e.path}: ${e.message}`);
}

describe("namerd config", () => {
  it("applies Linkerd's defaults: admin 127.0.0.1:9991, httpController 127.0.0.1:4180", () => {
    const r = parse(`
storage:
  kind: io.l5d.inMemory
  namespaces:
    default: /svc => /#/io.l5d.fs
namers:
- kind: io.l5d.fs
  rootDir: /tmp
interfaces:
- kind: io.l5d.httpController
`);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.config.admin).toEqual({ ip: "127.0.0.1", port: 9991 });
    expect(r.config.interfaces[0]?.config).toMatchObject({ ip: "127.0.0.1", port: 4180 });
    expect(r.config.storage.kind).toBe("io.l5d.inMemory");
    expect(r.config.namers[0]?.mountPrefix.show).toBe("/#/io.l5d.fs");
  });

  it("accepts the 0.x class-name storage kind of the upstream docs", () => {
    const r = parse("storage:\n  kind: io.buoyant.namerd.storage.inMemory\n");
    expect(r.ok).toBe(true);
  });

  it("requires storage and names the known kinds", () => {
    expect(errors("interfaces: []\n")).toEqual([
      expect.stringMatching(/^storage: required \(known storage kinds: .*io\.l5d\.inMemory/),
    ]);
  });

  it("names unknown kinds, unknown keys and bad values by key path", () => {
    const errs = errors(`
admin:
  port: 99999
storage:
  kind: io.l5d.inMemory
  namespaces:
    bad: "/svc =>"
  bogus: 1
namers:
- kind: io.l5d.nope
`);
    expect(errs).toEqual([
      "admin.port: expected a port number (0-65535)",
      expect.stringMatching(/^namers\[0\]\.kind: unknown namer kind 'io\.l5d\.nope'/),
    ]);
    expect(
      errors(`
storage: {kind: io.l5d.inMemory}
interfaces:
- kind: io.l5d.httpController
  port: 4180
- kind: io.l5d.httpController
  port: 4180
`),
    ).toEqual(["interfaces[1].port: port 4180 is also used by interfaces[0]"]);
  });

  it("reports storage errors by path (a bad seeded dtab, an unknown key)", () => {
    const errs = errors(`
storage:
  kind: io.l5d.inMemory
  namespaces:
    bad: "/svc =>"
  bogus: 1
`);
    expect(errs).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^storage\.namespaces\.bad: invalid dtab: /),
        "storage.bogus: unknown key",
      ]),
    );
  });

  it("refuses an empty config and unknown top-level keys", () => {
    expect(errors("")).toEqual([": the config is empty"]);
    expect(errors("storage: {kind: io.l5d.inMemory}\nrouters: []\n")).toEqual([
      "routers: unknown key",
    ]);
  });
});
