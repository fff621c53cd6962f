/**
 * Custom resources (objects of a kind a CustomResourceDefinition adds, e.g. namerd's
 * `dtabs.l5d.io`) checked offline as the API server checks them: the CRD must serve the
 * object's apiVersion and kind, and the object must match that version's structural
 * `openAPIV3Schema` (types, required fields, enums, patterns; unknown fields are errors unless the schema
 * preserves them, as with `kubectl apply`'s strict field validation). Covers the structural
 * subset CRDs use; keywords it does not know are not checked.
 */
import type { K8sObject } from "./manifests.js";

/** One problem at a dotted key path (the same shape as k8s-schema's SchemaIssue). */
export interface CrdIssue {
  path: string;
  message: string;
}

/** The part of an OpenAPI v3 structural schema checked here. */
interface StructuralSchema {
  type?: string;
  properties?: Record<string, StructuralSchema>;
  required?: string[];
  items?: StructuralSchema;
  additionalProperties?: boolean | StructuralSchema;
  enum?: unknown[];
  pattern?: string;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
}

interface CrdVersion {
  name: string;
  served?: boolean;
  schema?: { openAPIV3Schema?: StructuralSchema };
}

interface Crd {
  spec: { group: string; names: { kind: string }; versions: CrdVersion[] };
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function typeOk(value: unknown, s: StructuralSchema): boolean {
  if (s["x-kubernetes-int-or-string"]) return typeof value === "string" || Number.isInteger(value);
  switch (s.type) {
    case "object":
      return isRecord(value);
    case "array":
      return Array.isArray(value);
    case "string":
      return typeof value === "string";
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "boolean":
      return typeof value === "boolean";
    default:
      return true;
  }
}

/** `root`: apiVersion, kind and metadata are the API server's, never the schema's unknowns. */
function check(
  value: unknown,
  s: StructuralSchema,
  path: string,
  issues: CrdIssue[],
  root = false,
): void {
  if (value === null || value === undefined) return;
  if (!typeOk(value, s)) {
    issues.push({ path, message: `must be ${s.type ?? "int-or-string"}` });
    return;
  }
  if (
    typeof value === "string" &&
    s.pattern !== undefined &&
    !new RegExp(s.pattern, "u").test(value)
  )
    issues.push({ path, message: `must match ${s.pattern}` });
  if (s.enum && !s.enum.includes(value))
    issues.push({
      path,
      message: `must be one of ${s.enum.map((e) => JSON.stringify(e)).join(", ")}`,
    });
  if (Array.isArray(value) && s.items) {
    const items = s.items;
    value.forEach((v, i) => {
      check(v, items, `${path}[${i}]`, issues);
    });
    return;
  }
  if (!isRecord(value)) return;
  for (const r of s.required ?? [])
    if (!(r in value)) issues.push({ path: join(path, r), message: "required" });
  const props = s.properties ?? {};
  for (const [k, v] of Object.entries(value)) {
    if (root && (k === "apiVersion" || k === "kind" || k === "metadata")) continue;
    const p = props[k];
    if (p) check(v, p, join(path, k), issues);
    else if (isRecord(s.additionalProperties))
      check(v, s.additionalProperties, join(path, k), issues);
    else if (!s["x-kubernetes-preserve-unknown-fields"] && s.additionalProperties !== true)
      issues.push({ path: join(path, k), message: `unknown field "${k}"` });
  }
}

/** The served version of a CRD among `definitions` that defines `obj`'s apiVersion and kind. */
export function crdVersionFor(
  obj: K8sObject,
  definitions: readonly K8sObject[],
): CrdVersion | undefined {
  for (const d of definitions) {
    if (d.apiVersion !== "apiextensions.k8s.io/v1" || d.kind !== "CustomResourceDefinition")
      continue;
    const crd = d as unknown as Crd;
    if (crd.spec?.names?.kind !== obj.kind) continue;
    const v = crd.spec.versions?.find(
      (x) => `${crd.spec.group}/${x.name}` === obj.apiVersion && x.served !== false,
    );
    if (v) return v;
  }
  return undefined;
}

/** Validates a custom resource against its CRD version's openAPIV3Schema (empty = valid). */
export function validateCustomResource(obj: K8sObject, version: CrdVersion): CrdIssue[] {
  const schema = version.schema?.openAPIV3Schema;
  if (!schema) return [{ path: "", message: `CRD version ${version.name} has no openAPIV3Schema` }];
  const issues: CrdIssue[] = [];
  check(obj, schema, "", issues, true);
  return issues;
}
