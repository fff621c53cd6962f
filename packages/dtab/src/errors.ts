/** Typed errors raised while binding names. */
import type { Path } from "./path.js";

/** Binding followed more than `maxDepth` lookups (Finagle's NamerExceededMaxDepthException). */
export class NamerExceededMaxDepthError extends Error {
  constructor(readonly maxDepth: number) {
    super(`Max recursion level: ${maxDepth} reached in Namer lookup`);
    this.name = "NamerExceededMaxDepthError";
  }
}

/**
 * Binding made more than `maxLookups` lookups in a second (l5d-ts; Finagle has no such bound): a
 * dtab whose entries refer to themselves through unions or alternatives fans out
 * exponentially (`/svc => /svc & /svc` doubles at every level), which would hold the event
 * loop and memory without end.
 */
export class BindBudgetExceededError extends Error {
  constructor(readonly maxLookups: number) {
    super(
      `binding needed more than ${maxLookups} lookups (entries that refer to themselves through a union or an alternative)`,
    );
    this.name = "BindBudgetExceededError";
  }
}

/** A `/$/<class>` path names no known system namer (the JVM's ClassNotFoundException). */
export class ClassNotFoundError extends Error {
  constructor(readonly className: string) {
    super(className);
    this.name = "ClassNotFoundError";
  }
}

/** Linkerd's UnknownNamer: `Unknown namer: <class> for path: <path>`. */
export class UnknownNamerError extends Error {
  constructor(
    readonly path: Path,
    override readonly cause: Error,
  ) {
    super(`Unknown namer: ${cause.message} for path: ${path.show}`);
    this.name = "UnknownNamerError";
  }
}

/** Finagle's `require` failing, e.g. a rewriting namer producing an empty path element. */
export class RequirementFailedError extends Error {
  constructor(detail?: string) {
    super(detail === undefined ? "requirement failed" : `requirement failed: ${detail}`);
    this.name = "RequirementFailedError";
  }
}
