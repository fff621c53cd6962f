/**
 * getJsonLines against a real HTTP server on loopback: one value per line, a failure's message
 * line ends the stream, and a line longer than the bound aborts it without buffering more.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getJsonLines } from "./json-lines.js";

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    if (req.url === "/values") res.end('{"a":1}\n\n{"a":2}\n');
    else if (req.url === "/failure") res.write('{"a":1}\nbinding failed: no route\n');
    // a "line" that never ends: 1 MiB, no newline, the connection kept open
    else if (req.url === "/endless") res.write("x".repeat(1 << 20));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function collect(path: string, maxLineBytes?: number) {
  const values: unknown[] = [];
  const ended = new Promise<Error | undefined>((resolve) => {
    getJsonLines(
      new URL(path, base),
      { onValue: (v) => values.push(v), onEnd: resolve },
      maxLineBytes === undefined ? {} : { maxLineBytes },
    );
  });
  return { values, ended };
}

describe("getJsonLines", () => {
  it("delivers one JSON value per line, skipping blank lines", async () => {
    const c = collect("/values");
    expect((await c.ended)?.message).toBe("namerd closed the stream");
    expect(c.values).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it("ends the stream with a line that is not JSON (Linkerd's failure message)", async () => {
    const c = collect("/failure");
    expect((await c.ended)?.message).toBe("namerd: binding failed: no route");
    expect(c.values).toEqual([{ a: 1 }]);
  });

  it("aborts a line longer than maxLineBytes", async () => {
    const c = collect("/endless", 64 << 10);
    expect((await c.ended)?.message).toBe(`namerd sent a line longer than ${64 << 10} bytes`);
    expect(c.values).toEqual([]);
  });
});
