/**
 * Attack-suite support: the relay in a process of its own, so that its RSS (/proc/<pid>/status)
 * is measured without the test runner's heap. Started by `attack-rig.ts` with `fork()`; argv[2]
 * is JSON `{ backendPort, options }` (relay options, JSON-safe). It forwards every request to
 * the backend and reports over IPC: `{ type: "ready", port }`, then one
 * `{ type: "limit", name, detail, side, at }` per limit event (`at`: Date.now()); asked `mem`,
 * it answers `process.memoryUsage()` with the relay's open `streams` and `bufferedBytes`.
 */
import { relayForward } from "../../dataplane/test-support.js";
import { startRelayServer } from "../relay-server.js";

interface ChildArgs {
  readonly backendPort: number;
  readonly options: Record<string, unknown>;
}

const args = JSON.parse(process.argv[2] ?? "{}") as ChildArgs;
const endpoint = { host: "127.0.0.1", port: args.backendPort };
const send = (m: unknown): void => {
  process.send?.(m);
};
const relay = await startRelayServer({
  host: "127.0.0.1",
  port: 0,
  ...args.options,
  onRequest(req) {
    void relayForward(req, endpoint);
  },
  onLimit(name, detail, side) {
    send({ type: "limit", name, detail, side, at: Date.now() });
  },
});
send({ type: "ready", port: relay.port });
process.on("message", (m: { type?: string }) => {
  if (m.type === "mem") {
    const { streams, bufferedBytes } = relay;
    send({ type: "mem", ...process.memoryUsage(), streams, bufferedBytes });
  }
});
process.on("disconnect", () => {
  void relay.close(0).then(() => process.exit(0));
});
