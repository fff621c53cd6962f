// One-off scaffolder for package skeletons (kept for adding packages later).
import { mkdirSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";

export function scaffold(dir, name, { deps = {}, devDeps = {}, bin, lib = true, extraScripts = {} } = {}) {
  mkdirSync(join(dir, "src"), { recursive: true });
  const depth = dir.split("/").length;
  const up = "../".repeat(depth);
  const pkg = {
    name,
    version: "0.1.0",
    private: true,
    type: "module",
    ...(lib ? { sideEffects: false } : {}),
    exports: { ".": { types: "./dist/index.d.ts", default: "./dist/index.js" } },
    ...(bin ? { bin } : {}),
    files: ["dist"],
    scripts: {
      build: "tsc -p tsconfig.json",
      typecheck: "tsc -p tsconfig.test.json",
      test: "vitest run",
      ...extraScripts,
    },
    dependencies: deps,
    devDependencies: devDeps,
  };
  writeFileSync(join(dir, "package.json"), JSON.stringify(pkg, null, 2) + "\n");
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify(
      {
        extends: `${up}tsconfig.base.json`,
        compilerOptions: { rootDir: "src", outDir: "dist", tsBuildInfoFile: "dist/.tsbuildinfo" },
        include: ["src"],
        exclude: ["src/**/*.test.ts", "src/**/__tests__/**"],
      },
      null,
      2,
    ) + "\n",
  );
  writeFileSync(
    join(dir, "tsconfig.test.json"),
    JSON.stringify(
      {
        extends: `${up}tsconfig.base.json`,
        compilerOptions: { noEmit: true, rootDir: "." },
        include: ["src", "test"],
      },
      null,
      2,
    ) + "\n",
  );
  writeFileSync(join(dir, "vitest.config.ts"), `export { default } from "${up}vitest.shared.ts";\n`);
  if (!existsSync(join(dir, "src/index.ts"))) writeFileSync(join(dir, "src/index.ts"), "export {};\n");
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop())) {
  const ws = "workspace:*";
  const grpc = { "@grpc/grpc-js": "1.14.7" };
  scaffold("packages/dtab", "@l5d/dtab");
  scaffold("packages/namers", "@l5d/namers", {
    deps: { "@l5d/dtab": ws, "@kubernetes/client-node": "1.4.0", pino: "10.4.0" },
    devDeps: { "@l5d/k8s-standin": ws },
  });
  scaffold("packages/config", "@l5d/config", {
    deps: { "@l5d/dtab": ws, yaml: "2.9.1", zod: "4.6.7" },
  });
  scaffold("packages/h2-proxy", "@l5d/h2-proxy", {
    deps: { "@l5d/dtab": ws, "@l5d/namers": ws, pino: "10.4.0" },
    devDeps: { "@l5d/proto": ws, ...grpc },
  });
  scaffold("packages/proto", "@l5d/proto", {
    deps: { ...grpc, "@bufbuild/protobuf": "2.17.0" },
    devDeps: { "@bufbuild/buf": "1.75.0", "ts-proto": "2.18.0" },
    extraScripts: { generate: "buf generate" },
  });
  scaffold("packages/helloworld", "@l5d/helloworld", {
    deps: { "@l5d/proto": ws, ...grpc },
  });
  scaffold("packages/k8s-standin", "@l5d/k8s-standin", { deps: {} });
  scaffold("apps/l5d", "@l5d/l5d", {
    lib: false,
    bin: { l5d: "./dist/main.js" },
    deps: {
      "@l5d/dtab": ws,
      "@l5d/namers": ws,
      "@l5d/config": ws,
      "@l5d/h2-proxy": ws,
      pino: "10.4.0",
      "prom-client": "15.1.3",
      yaml: "2.9.1",
      zod: "4.6.7",
    },
    devDeps: { "@l5d/proto": ws, "@l5d/helloworld": ws, "@l5d/k8s-standin": ws, ...grpc, "playwright-core": "1.65.1" },
  });
  scaffold("apps/hello", "@l5d/hello", { lib: false, bin: { hello: "./dist/main.js" }, deps: { "@l5d/helloworld": ws } });
  scaffold("apps/world", "@l5d/world", { lib: false, bin: { world: "./dist/main.js" }, deps: { "@l5d/helloworld": ws } });
  scaffold("apps/helloworld-client", "@l5d/helloworld-client", {
    lib: false,
    bin: { "helloworld-client": "./dist/main.js" },
    deps: { "@l5d/helloworld": ws },
  });
}
