/**
 * Writes to custom resources (namerd's `dtabs.l5d.io`), with the checks and answers of the
 * API server: create (201, 409 AlreadyExists), replace (200; 404 if missing, 422 without a
 * resourceVersion, 409 Conflict on a stale one: custom resources allow no unconditional
 * update) and delete (200 with a Success Status, 404 if missing). Bodies are checked as the
 * CRD's structural schema and the name validation would (422 Invalid).
 */
import { type KindInfo, qualifiedResource } from "./kinds.js";
import { type StatusDetails, type StatusObject, status, successStatus } from "./status.js";
import type { ObjectStore } from "./store.js";
import type { K8sObject } from "./types.js";

/** An answer: the status code and the JSON body. */
export interface WriteAnswer {
  readonly code: number;
  readonly body: unknown;
}

/** A lowercase RFC 1123 subdomain, what Kubernetes requires of most object names. */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

interface Cause {
  readonly field: string;
  readonly message: string;
}

/** The `dtabs.l5d.io` schema (deploy/k8s-namerd/dtab-crd.yaml): `dentries` of {prefix, dst}. */
function dtabCauses(obj: K8sObject): Cause[] {
  const d = obj.dentries;
  if (d === undefined) return [];
  if (!Array.isArray(d)) return [{ field: "dentries", message: "must be of type array" }];
  const causes: Cause[] = [];
  d.forEach((e: unknown, i) => {
    const f = `dentries[${i}]`;
    if (typeof e !== "object" || e === null || Array.isArray(e)) {
      causes.push({ field: f, message: "must be of type object" });
      return;
    }
    for (const k of ["prefix", "dst"]) {
      const v = (e as Record<string, unknown>)[k];
      if (v === undefined) causes.push({ field: `${f}.${k}`, message: "Required value" });
      else if (typeof v !== "string")
        causes.push({ field: `${f}.${k}`, message: "must be of type string" });
    }
  });
  return causes;
}

function schemaCauses(info: KindInfo, obj: K8sObject): Cause[] {
  return info.kind === "DTab" ? dtabCauses(obj) : [];
}

function details(info: KindInfo, name: string, uid?: string): StatusDetails {
  const d: StatusDetails = { name, group: info.group, kind: info.plural };
  if (uid !== undefined) d.uid = uid;
  return d;
}

function fail(s: StatusObject): WriteAnswer {
  return { code: s.code, body: s };
}

function notFound(info: KindInfo, name: string): WriteAnswer {
  return fail(
    status(404, `${qualifiedResource(info)} "${name}" not found`, "NotFound", details(info, name)),
  );
}

function invalid(info: KindInfo, name: string, causes: readonly Cause[]): WriteAnswer {
  const text = causes.map((c) => `${c.field}: ${c.message}`).join(", ");
  return fail(
    status(422, `${info.kind}.${info.group} "${name}" is invalid: ${text}`, "Invalid", {
      ...details(info, name),
      kind: info.kind,
      causes: causes.map((c) => ({
        reason: "FieldValueInvalid",
        message: c.message,
        field: c.field,
      })),
    }),
  );
}

/** Parses and checks a request body: JSON, the URL's kind, version and namespace. */
function decode(
  info: KindInfo,
  namespace: string,
  text: string,
): { obj: K8sObject } | { answer: WriteAnswer } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { answer: fail(status(400, `invalid JSON body: ${(e as Error).message}`)) };
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    return { answer: fail(status(400, "the body must be a JSON object")) };
  const obj = v as K8sObject;
  if (typeof obj.kind !== "string" || obj.kind === "")
    return { answer: fail(status(400, `Object 'Kind' is missing in '${text.slice(0, 200)}'`)) };
  if (obj.kind !== info.kind || obj.apiVersion !== info.apiVersion)
    return {
      answer: fail(
        status(
          400,
          `the API version in the data (${String(obj.apiVersion)}) and kind (${obj.kind}) do not match the expected ${info.apiVersion} ${info.kind}`,
        ),
      ),
    };
  if (typeof obj.metadata !== "object" || obj.metadata === null)
    obj.metadata = {} as K8sObject["metadata"];
  const ns = obj.metadata.namespace;
  if (ns !== undefined && ns !== namespace)
    return {
      answer: fail(
        status(
          400,
          "the namespace of the provided object does not match the namespace sent on the request",
        ),
      ),
    };
  obj.metadata.namespace = namespace;
  return { obj };
}

function nameCauses(name: string): Cause[] {
  if (name.length <= 253 && DNS1123_SUBDOMAIN.test(name)) return [];
  return [
    {
      field: "metadata.name",
      message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
    },
  ];
}

/** POST to the collection. */
export function createObject(
  store: ObjectStore,
  info: KindInfo,
  namespace: string,
  text: string,
): WriteAnswer {
  if (!store.get("Namespace", undefined, namespace))
    return fail(
      status(404, `namespaces "${namespace}" not found`, "NotFound", {
        name: namespace,
        kind: "namespaces",
      }),
    );
  const d = decode(info, namespace, text);
  if ("answer" in d) return d.answer;
  const name = d.obj.metadata.name;
  if (typeof name !== "string" || name === "")
    return invalid(info, "", [
      { field: "metadata.name", message: "Required value: name is required" },
    ]);
  // The API server's storage layer refuses this with an internal error.
  if (d.obj.metadata.resourceVersion !== undefined && d.obj.metadata.resourceVersion !== "")
    return fail(status(500, "resourceVersion should not be set on objects to be created"));
  const causes = [...nameCauses(name), ...schemaCauses(info, d.obj)];
  if (causes.length > 0) return invalid(info, name, causes);
  if (store.get(info.kind, namespace, name))
    return fail(
      status(
        409,
        `${qualifiedResource(info)} "${name}" already exists`,
        "AlreadyExists",
        details(info, name),
      ),
    );
  return { code: 201, body: store.apply(d.obj) };
}

/** PUT to an object: a replace, conditional on the body's resourceVersion. */
export function replaceObject(
  store: ObjectStore,
  info: KindInfo,
  namespace: string,
  name: string,
  text: string,
): WriteAnswer {
  const d = decode(info, namespace, text);
  if ("answer" in d) return d.answer;
  const bodyName = d.obj.metadata.name;
  if (bodyName !== name)
    return fail(
      status(
        400,
        `the name of the object (${String(bodyName ?? "")}) does not match the name on the URL (${name})`,
      ),
    );
  const current = store.get(info.kind, namespace, name);
  if (!current) return notFound(info, name);
  const rv = d.obj.metadata.resourceVersion;
  if (rv === undefined || rv === "")
    return invalid(info, name, [
      {
        field: "metadata.resourceVersion",
        message: "Invalid value: 0x0: must be specified for an update",
      },
    ]);
  const causes = schemaCauses(info, d.obj);
  if (causes.length > 0) return invalid(info, name, causes);
  if (rv !== current.metadata.resourceVersion)
    return fail(
      status(
        409,
        `Operation cannot be fulfilled on ${qualifiedResource(info)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        "Conflict",
        details(info, name),
      ),
    );
  return { code: 200, body: store.apply(d.obj) };
}

/** DELETE of an object. */
export function deleteObject(
  store: ObjectStore,
  info: KindInfo,
  namespace: string,
  name: string,
): WriteAnswer {
  const deleted = store.delete(info.kind, namespace, name);
  if (!deleted) return notFound(info, name);
  return { code: 200, body: successStatus(details(info, name, deleted.metadata.uid)) };
}
