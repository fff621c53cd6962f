#!/usr/bin/env node
// `world`: the same server as `hello`, with `-text` defaulting to `world` (TARGET_WORLD and
// -text still override it, so the tutorial's manifests behave the same with either binary).
import { runServerCli } from "@l5d/helloworld";

const result = await runServerCli({ name: "world", defaultText: "world" });
if ("exitCode" in result) process.exitCode = result.exitCode;
