#!/usr/bin/env node
// `hello` / `helloworld`: the original buoyantio/helloworld server binary (same flags, env,
// output and defaults: -protocol http, -text Hello). Manifests pass -protocol=grpc.
import { runServerCli } from "@l5d/helloworld";

const result = await runServerCli({ name: "helloworld" });
if ("exitCode" in result) process.exitCode = result.exitCode;
