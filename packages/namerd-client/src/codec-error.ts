/** A message that does not describe a valid path, dtab or tree. */
export class MeshCodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MeshCodecError";
  }
}
