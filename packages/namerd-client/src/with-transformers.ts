/**
 * The interpreter `transformers:` of a router (e.g. io.l5d.k8s.daemonset) apply to what namerd
 * answers, as with any interpreter; the result keeps the client's `state()` for the admin page
 * and metrics.
 */
import type { BuildContext } from "@l5d/config";
import { type NameInterpreter, type NameTreeTransformer, withTransformers } from "@l5d/dtab";

export function withStateAndTransformers<I extends NameInterpreter & { state(): unknown }>(
  interp: I,
  ctx: BuildContext,
): NameInterpreter & { state(): unknown } {
  const transformers = (ctx.services.transformers ?? []) as readonly NameTreeTransformer[];
  const out = withTransformers(interp, transformers);
  if (out === interp) return interp;
  return Object.assign(out, { state: () => interp.state() });
}
