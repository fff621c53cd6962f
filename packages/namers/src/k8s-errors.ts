/** Errors of the Kubernetes namer and transformers. */

/** A configuration problem found when building a k8s namer or transformer (e.g. POD_IP unset). */
export class K8sConfigError extends Error {
  override readonly name = "K8sConfigError";
}

/** An API answer the namer cannot use (not a list, a Status error, ...). */
export class K8sApiError extends Error {
  override readonly name = "K8sApiError";
  constructor(
    message: string,
    /** The HTTP status or Status object code, when there is one. */
    readonly code?: number,
  ) {
    super(message);
  }
}
