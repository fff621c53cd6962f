import { defineInteropSuite } from "../testing/interop-suite.js";
import { type StaticProxy, startChain } from "./test-support.js";

for (const hops of [1, 2]) {
  defineInteropSuite(`gRPC interop through ${hops} proxy hop(s)`, async (backend) => {
    const chain = await startChain(backend, hops);
    return {
      port: (chain[0] as StaticProxy).port,
      streams: () => chain.reduce((n, p) => n + p.server.streams, 0),
      close: async () => {
        await chain[Symbol.asyncDispose]();
      },
    };
  });
}
