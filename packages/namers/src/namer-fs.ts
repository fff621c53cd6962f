/** `io.l5d.fs`: file-based service discovery (see FsNamer). */
import { statSync } from "node:fs";
import { namerCommonShape, type PluginFactory } from "@l5d/config";
import { type MountedNamer, Path } from "@l5d/dtab";
import { z } from "zod";
import { FsNamer } from "./fs-namer.js";
import { namerPrefixSchema } from "./namer-prefix.js";

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export const fsNamerSchema = z.strictObject({
  ...namerCommonShape,
  kind: z.literal("io.l5d.fs"),
  /** Mounted at `/#` ++ prefix. Default `/io.l5d.fs`. */
  prefix: namerPrefixSchema().default("/io.l5d.fs"),
  /** Directory with one file per service (required; must exist). */
  rootDir: z
    .string({ error: (i) => (i.input === undefined ? "required" : "expected a directory path") })
    .min(1, { error: "expected a directory path" })
    .refine(isDirectory, { error: (i) => `no such directory: ${String(i.input)}` }),
  /** Our extension: how often the directory is polled besides fs.watch, in ms. Default 1000. */
  pollIntervalMs: z.number().int().min(10).default(1000),
});
export type FsNamerConfig = z.infer<typeof fsNamerSchema>;

/** A mounted io.l5d.fs namer; `namer.errors()` lists malformed lines for admin pages. */
export interface MountedFsNamer extends MountedNamer {
  readonly namer: FsNamer;
}

export const fsNamerFactory: PluginFactory<FsNamerConfig, MountedFsNamer> = {
  kind: "io.l5d.fs",
  schema: fsNamerSchema,
  make(config, ctx) {
    const prefix = Path.of("#").concat(Path.read(config.prefix));
    const namer = new FsNamer({
      rootDir: config.rootDir,
      idPrefix: prefix,
      pollIntervalMs: config.pollIntervalMs,
      log: ctx.log,
    });
    ctx.onClose(() => namer.close());
    return { prefix, namer, kind: "io.l5d.fs" };
  },
};
