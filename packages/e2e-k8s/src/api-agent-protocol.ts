/** The JSON-line protocol between the test and the lab's control-plane agent. */

/** Answers on the agent's stdout start with this mark (anything else is log output). */
export const AGENT_MARK = "@@agent ";

/** A command to the agent; `id` pairs it with its answer. */
export type AgentCommand = { readonly id: number } & (
  | {
      readonly op: "start";
      readonly host: string;
      readonly port: number;
      readonly objects: unknown[];
    }
  | { readonly op: "apply"; readonly object: unknown }
  | {
      readonly op: "delete";
      readonly kind: string;
      readonly namespace: string;
      readonly name: string;
    }
  | { readonly op: "get"; readonly kind: string; readonly namespace: string; readonly name: string }
  | { readonly op: "http"; readonly url: string; readonly timeoutMs: number }
  | {
      readonly op: "waitTcp";
      readonly host: string;
      readonly port: number;
      readonly timeoutMs: number;
    }
);

/** Distributes `Omit` over the command union. */
export type AgentRequest = AgentCommand extends infer C
  ? C extends AgentCommand
    ? Omit<C, "id">
    : never
  : never;
