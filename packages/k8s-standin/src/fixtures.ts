/** Loading objects from a YAML (multi-document or `kind: List`) fixtures file. */
import { readFile } from "node:fs/promises";
import { parseAllDocuments } from "yaml";
import type { K8sObject } from "./types.js";

/** Thrown when a fixtures file cannot be parsed into Kubernetes objects. */
export class FixturesError extends Error {
  override readonly name = "FixturesError";
}

export function parseFixtures(text: string, source = "fixtures"): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0)
      throw new FixturesError(`${source}: ${doc.errors[0]?.message ?? "invalid YAML"}`);
    const v = doc.toJS() as unknown;
    if (v === null || v === undefined) continue;
    const o = v as K8sObject & { items?: K8sObject[] };
    if (o.kind === "List" && Array.isArray(o.items)) out.push(...o.items);
    else if (typeof o === "object" && typeof o.kind === "string" && o.metadata?.name) out.push(o);
    else throw new FixturesError(`${source}: every document needs kind and metadata.name`);
  }
  return out;
}

export async function loadFixtures(file: string): Promise<K8sObject[]> {
  return parseFixtures(await readFile(file, "utf8"), file);
}
