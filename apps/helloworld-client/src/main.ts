#!/usr/bin/env node
// `helloworld-client [-streaming] [-timeout d] [-n N -c C] [-metadata k=v]... <host>:<port>`
import { runClientCli } from "@l5d/helloworld";

process.exitCode = await runClientCli();
