import * as clientNode from "@kubernetes/client-node";
import { CustomResourceDefinition } from "kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition";
import { DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { ClusterRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole";
import { ClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Pod } from "kubernetes-models/v1/Pod";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { crdVersionFor, validateCustomResource } from "./crd-schema.js";
import type { K8sObject } from "./manifests.js";

/** One problem found in a manifest, at a dotted key path (`spec.template.spec.containers[0].ports`). */
export interface SchemaIssue {
  path: string;
  message: string;
}

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: never) => Validatable;

interface ServedKind {
  /** kubernetes-models class: the OpenAPI schema (types, required fields, enums, formats). */
  model: ModelClass;
  /** @kubernetes/client-node model name: the list of known fields, for the strict check. */
  fields: string;
}

/**
 * The API versions and kinds these manifests may use, all served by current Kubernetes
 * (1.34; kubernetes-models 5.1.0 and @kubernetes/client-node 1.4.0 are generated from its
 * OpenAPI). Removed versions (`extensions/v1beta1`, `rbac.authorization.k8s.io/v1beta1`) are
 * deliberately absent, although kubernetes-models still ships their schemas.
 */
export const SERVED_KINDS: Readonly<Record<string, ServedKind>> = {
  "v1/ConfigMap": { model: ConfigMap as unknown as ModelClass, fields: "V1ConfigMap" },
  "v1/Namespace": { model: Namespace as unknown as ModelClass, fields: "V1Namespace" },
  "v1/Pod": { model: Pod as unknown as ModelClass, fields: "V1Pod" },
  "v1/Service": { model: Service as unknown as ModelClass, fields: "V1Service" },
  "v1/ServiceAccount": {
    model: ServiceAccount as unknown as ModelClass,
    fields: "V1ServiceAccount",
  },
  "apps/v1/DaemonSet": { model: DaemonSet as unknown as ModelClass, fields: "V1DaemonSet" },
  "apps/v1/Deployment": { model: Deployment as unknown as ModelClass, fields: "V1Deployment" },
  "apiextensions.k8s.io/v1/CustomResourceDefinition": {
    model: CustomResourceDefinition as unknown as ModelClass,
    fields: "V1CustomResourceDefinition",
  },
  "rbac.authorization.k8s.io/v1/ClusterRole": {
    model: ClusterRole as unknown as ModelClass,
    fields: "V1ClusterRole",
  },
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": {
    model: ClusterRoleBinding as unknown as ModelClass,
    fields: "V1ClusterRoleBinding",
  },
  "rbac.authorization.k8s.io/v1/Role": { model: Role as unknown as ModelClass, fields: "V1Role" },
  "rbac.authorization.k8s.io/v1/RoleBinding": {
    model: RoleBinding as unknown as ModelClass,
    fields: "V1RoleBinding",
  },
};

interface AttributeType {
  baseName: string;
  type: string;
}
interface FieldModel {
  getAttributeTypeMap(): AttributeType[];
}

function fieldModel(name: string): FieldModel | undefined {
  const m = (clientNode as unknown as Record<string, unknown>)[name];
  if (typeof m === "function" && "getAttributeTypeMap" in m) return m as unknown as FieldModel;
  return undefined;
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/** Unknown fields, which the API server rejects (`kubectl apply` defaults to strict field validation). */
function strictFields(value: unknown, type: string, path: string, issues: SchemaIssue[]): void {
  if (value === null || value === undefined) return;
  const arr = /^Array<(.+)>$/.exec(type);
  if (arr) {
    if (Array.isArray(value)) {
      value.forEach((v, i) => {
        strictFields(v, arr[1]!, `${path}[${i}]`, issues);
      });
    }
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value === "object" && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) strictFields(v, map[1]!, join(path, k), issues);
    }
    return;
  }
  const model = fieldModel(type);
  if (!model || typeof value !== "object" || Array.isArray(value)) return;
  const known = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value)) {
    const t = known.get(k);
    if (t === undefined)
      issues.push({ path: join(path, k), message: `unknown field "${k}" in ${type}` });
    else strictFields(v, t, join(path, k), issues);
  }
}

function pointerToPath(pointer: string): string {
  return pointer
    .split("/")
    .slice(1)
    .map((seg) => seg.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : join(acc, seg)), "");
}

/**
 * Validates one object against the Kubernetes schema, offline: served apiVersion/kind, the
 * OpenAPI schema of kubernetes-models (types, required fields, enums, formats) and no unknown
 * fields. A kind no built-in API serves is valid only when one of `definitions` (e.g. the
 * other objects of the same manifests) is a CustomResourceDefinition serving it; it is then
 * checked against that CRD's schema (crd-schema.ts) and its metadata against ObjectMeta.
 * Returns every issue found (empty = valid).
 */
export function validateK8sObject(
  obj: K8sObject,
  definitions: readonly K8sObject[] = [],
): SchemaIssue[] {
  const key = `${obj.apiVersion}/${obj.kind}`;
  const served = SERVED_KINDS[key];
  const custom = served ? undefined : crdVersionFor(obj, definitions);
  if (custom) {
    const issues = validateCustomResource(obj, custom);
    strictFields(obj.metadata, "V1ObjectMeta", "metadata", issues);
    return issues;
  }
  if (!served) {
    return [
      {
        path: "apiVersion",
        message: `${key} is not a kind these manifests may use on current Kubernetes`,
      },
    ];
  }
  const issues: SchemaIssue[] = [];
  try {
    new served.model(structuredClone(obj) as never).validate();
  } catch (e) {
    const errors = (e as { errors?: { instancePath?: string; message?: string }[] }).errors;
    if (Array.isArray(errors) && errors.length > 0) {
      for (const err of errors) {
        issues.push({
          path: pointerToPath(err.instancePath ?? ""),
          message: err.message ?? String(e),
        });
      }
    } else {
      issues.push({ path: "", message: e instanceof Error ? e.message : String(e) });
    }
  }
  strictFields(obj, served.fields, "", issues);
  return issues;
}
