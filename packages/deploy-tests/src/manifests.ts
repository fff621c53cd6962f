import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

/** The part of a Kubernetes object every manifest has; the rest is checked by the schema. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/** A manifest file that is not valid YAML or holds a document that is not a Kubernetes object. */
export class ManifestError extends Error {
  readonly code = "MANIFEST_INVALID";
  constructor(
    readonly source: string,
    detail: string,
  ) {
    super(`${source}: ${detail}`);
    this.name = "ManifestError";
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Parses a multi-document YAML manifest (documents separated by `---`), as `kubectl apply -f`
 * reads it: empty documents are skipped; every other one must have apiVersion, kind and
 * metadata.name. Duplicate keys are errors (YAML 1.2, as the API server's decoder).
 */
export function parseManifests(text: string, source = "<text>"): K8sObject[] {
  const out: K8sObject[] = [];
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
  if (!Array.isArray(docs)) throw new ManifestError(source, "not a YAML stream");
  docs.forEach((doc, i) => {
    if (doc.errors.length > 0) {
      throw new ManifestError(
        source,
        `document ${i}: ${doc.errors.map((e) => e.message).join("; ")}`,
      );
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    if (!isRecord(value)) throw new ManifestError(source, `document ${i} is not a mapping`);
    const { apiVersion, kind, metadata } = value;
    if (typeof apiVersion !== "string" || typeof kind !== "string") {
      throw new ManifestError(source, `document ${i} has no apiVersion/kind`);
    }
    if (!isRecord(metadata) || typeof metadata.name !== "string") {
      throw new ManifestError(source, `document ${i} (${kind}) has no metadata.name`);
    }
    out.push(value as K8sObject);
  });
  return out;
}

/** Reads and parses one manifest file (see {@link parseManifests}). */
export function readManifests(file: string): K8sObject[] {
  return parseManifests(readFileSync(file, "utf8"), file);
}
