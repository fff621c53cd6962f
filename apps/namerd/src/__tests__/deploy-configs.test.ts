/**
 * Every namerd config shipped in deploy/ (namerd*.yaml files and ConfigMaps whose config has a
 * top-level `storage:`) validates, and the README's namerd reference names every kind namerd
 * registers.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { formatConfigErrors } from "@l5d/config";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { parseNamerdConfig } from "../namerd-config.js";
import { createNamerdRegistries } from "../plugins.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));

function namerdConfigs(): Array<{ name: string; text: string }> {
  const out: Array<{ name: string; text: string }> = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) {
        if (n !== "node_modules") walk(p);
        continue;
      }
      if (!/\.ya?ml$/.test(n)) continue;
      const text = readFileSync(p, "utf8");
      if (/^namerd[-.\w]*\.ya?ml$/.test(n) && /^storage:/m.test(text) && !/^kind:/m.test(text)) {
        out.push({ name: relative(root, p), text });
        continue;
      }
      for (const doc of text.split(/^---$/m)) {
        let obj: { kind?: string; data?: Record<string, string> } | undefined;
        try {
          obj = parseYaml(doc) as typeof obj;
        } catch {
          continue;
        }
        if (obj?.kind === "ConfigMap" && obj.data)
          for (const [k, v] of Object.entries(obj.data))
            if (/^storage:/m.test(v)) out.push({ name: `${relative(root, p)}#${k}`, text: v });
      }
    }
  };
  walk(join(root, "deploy"));
  return out;
}

describe("namerd configs in deploy/", () => {
  const configs = namerdConfigs();
  it("include deploy/examples/namerd.yaml", () => {
    expect(configs.map((c) => c.name)).toContain("deploy/examples/namerd.yaml");
  });
  it.each(configs.map((c) => [c.name, c.text] as const))("%s validates", (_name, text) => {
    // io.l5d.fs rootDirs are checked to exist: point them at one that does
    const r = parseNamerdConfig(
      text.replace(/rootDir: .*/g, `rootDir: ${root}`),
      createNamerdRegistries(),
    );
    if (!r.ok) throw new Error(formatConfigErrors(r.errors));
    expect(r.config.storage.kind).toMatch(/^io\.l5d\./);
  });
});

describe("the README's namerd reference", () => {
  it("names every registered storage and interface kind", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const r = createNamerdRegistries();
    const missing = [...r.storage.kinds, ...r.interfaces.kinds].filter(
      (k) => !readme.includes(`\`${k}\``),
    );
    expect(missing).toEqual([]);
  });
});
