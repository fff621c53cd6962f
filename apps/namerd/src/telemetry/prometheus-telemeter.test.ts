/** namerd's io.l5d.prometheus: the admin port serves namerd's gauges in Prometheus text format. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestNamerd, type TestNamerd } from "../__tests__/namerd-testkit.js";

let n: TestNamerd;
beforeAll(async () => {
  n = await startTestNamerd(
    "telemetry:\n- kind: io.l5d.prometheus\n  prefix: t_\n",
    "  namespaces:\n    default: /svc => /#/io.l5d.fs\n    other: /a => /b\n",
  );
  n.writeDisco("hello", "127.0.0.1 7001\n");
});
afterAll(async () => {
  await n?.close();
});

describe("io.l5d.prometheus on namerd", () => {
  it("serves the namespaces, the store's health, the bound names and process metrics", async () => {
    // the fs namer may answer neg until it has seen the file: bind until it is a leaf
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const tree = (await (await fetch(`${n.api}/api/1/bind/default?path=/svc/hello`)).json()) as {
        type: string;
      };
      if (tree.type === "leaf") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const r = await fetch(`${n.admin}/admin/metrics/prometheus`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("text/plain");
    const text = await r.text();
    expect(text).toMatch(/^t_namerd_namespaces 2$/m);
    expect(text).toMatch(/^t_namerd_store_healthy 1$/m);
    expect(text).toMatch(/^t_namerd_bound_names 1$/m);
    expect(text).toMatch(/^t_process_resident_memory_bytes \d+/m);
  });
});
