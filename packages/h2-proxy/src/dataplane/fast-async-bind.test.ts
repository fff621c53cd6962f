import { AsyncResource, executionAsyncId } from "node:async_hooks";
import { connect, createServer, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { installFastAsyncBind } from "./fast-async-bind.js";

describe("installFastAsyncBind", () => {
  let server: Http2Server | undefined;
  afterEach(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  it("keeps bind's contract: async scope, this, arguments, length; rejects non-functions", () => {
    installFastAsyncBind();
    expect(installFastAsyncBind()).toBe(true);
    const res = new AsyncResource("test");
    const seen: unknown[] = [];
    const f = function (this: unknown, a: number, b: number) {
      seen.push(executionAsyncId(), this, a + b);
      return a * b;
    };
    const bound = res.bind(f);
    expect(bound.length).toBe(2);
    const self = { me: 1 };
    expect(bound.call(self, 3, 4)).toBe(12);
    expect(seen).toEqual([res.asyncId(), self, 7]);
    // node's bind(fn, thisArg) (the thisArg overload is missing from @types/node)
    const bindWithThis = res.bind as unknown as (fn: typeof f, t: unknown) => typeof f;
    const withThis = bindWithThis.call(res, f, "T");
    expect(withThis(1, 2)).toBe(2);
    expect(seen.slice(3)).toEqual([res.asyncId(), "T", 3]);
    expect(() => res.bind(42 as unknown as () => void)).toThrow(TypeError);
    expect(AsyncResource.bind((x: number) => x + 1)(1)).toBe(2);
  });

  it("node:http2 client requests still work with it installed", async () => {
    installFastAsyncBind();
    server = createServer();
    server.on("stream", (s) => s.respond({ ":status": 200 }, { endStream: true }));
    await new Promise<void>((r) => server?.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as AddressInfo).port;
    const client = connect(`http://127.0.0.1:${port}`);
    try {
      const statuses = await Promise.all(
        [1, 2, 3].map(
          () =>
            new Promise<number>((resolve, reject) => {
              const req = client.request({ ":path": "/" }, { endStream: true });
              req.on("response", (h) => resolve(Number(h[":status"])));
              req.on("error", reject);
              req.resume();
            }),
        ),
      );
      expect(statuses).toEqual([200, 200, 200]);
    } finally {
      client.close();
    }
  });
});
