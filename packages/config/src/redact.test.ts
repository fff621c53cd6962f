import { describe, expect, it } from "vitest";
import { REDACTED, redactSecrets } from "./redact.js";

describe("redactSecrets", () => {
  it("redacts secret-named keys at any depth, every value of a headers map, URL credentials", () => {
    expect(
      redactSecrets({
        telemetry: [
          {
            kind: "io.l5d.otlp",
            endpoint: "https://me:pw@otel.example:4318/v1/traces",
            headers: { "x-api": "k1", authorization: "Bearer t" },
          },
        ],
        namers: [{ kind: "io.l5d.consul", token: "t2", password: "p", apiKey: 7, port: 8500 }],
        plain: "http://host:1/path",
        list: ["a", { clientSecret: { nested: "s" } }],
      }),
    ).toEqual({
      telemetry: [
        {
          kind: "io.l5d.otlp",
          endpoint: `https://${REDACTED}@otel.example:4318/v1/traces`,
          headers: { "x-api": REDACTED, authorization: REDACTED },
        },
      ],
      namers: [
        {
          kind: "io.l5d.consul",
          token: REDACTED,
          password: REDACTED,
          apiKey: REDACTED,
          port: 8500,
        },
      ],
      plain: "http://host:1/path",
      list: ["a", { clientSecret: { nested: REDACTED } }],
    });
  });

  it("leaves ordinary config alone", () => {
    const cfg = {
      admin: { ip: "127.0.0.1", port: 9990 },
      routers: [{ dtab: "/svc=>/#/io.l5d.k8s" }],
    };
    expect(redactSecrets(cfg)).toEqual(cfg);
  });
});
