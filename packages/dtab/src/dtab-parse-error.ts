/**
 * A dtab, path or name-tree text that does not follow Finagle's grammar. The message is
 * Finagle's, character for character: `X expected but Y found at '...[c]...'`.
 */
export class DtabParseError extends Error {
  /** The text that failed to parse. */
  readonly input: string;
  /** UTF-16 index of the offending character (`input.length` at end of input). */
  readonly index: number;

  constructor(message: string, input: string, index: number) {
    super(message);
    this.name = "DtabParseError";
    this.input = input;
    this.index = index;
  }
}
