#!/usr/bin/env node
/** CLI: `node dist/main.js --port 8001 [--host 127.0.0.1] [--fixtures file.yaml] [--token T]`. */
import { parseArgs } from "node:util";
import { pino } from "pino";
import { loadFixtures } from "./fixtures.js";
import { startStandin } from "./standin.js";

const log = pino({ name: "k8s-standin" });

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "8001" },
      fixtures: { type: "string" },
      token: { type: "string" },
      "bookmark-interval-ms": { type: "string", default: "10000" },
    },
  });
  const objects = values.fixtures ? await loadFixtures(values.fixtures) : [];
  const standin = await startStandin({
    host: values.host,
    port: Number(values.port),
    objects,
    bookmarkIntervalMs: Number(values["bookmark-interval-ms"]),
    ...(values.token ? { token: values.token } : {}),
  });
  log.info({ url: standin.url, objects: objects.length }, "kubernetes API stand-in listening");
  const stop = () => {
    void standin.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((e: unknown) => {
  log.error({ err: e }, "k8s stand-in failed to start");
  process.exit(1);
});
