/** Typed errors raised while binding names. */
import type { Path } from "./path.js";

/** Binding followed more than `maxDepth` lookups (Finagle's NamerExceededMaxDepthException). */
export class NamerExceededMaxDepthError extends Error {
  constructor(readonly maxDepth: number) {
    super(`Max recursion level: ${maxDepth} reached in Namer lookup`);
    this.name = "NamerExceededMaxDepthError";
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
