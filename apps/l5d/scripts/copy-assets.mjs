// Copies the admin UI's static files next to the compiled admin code (dist/admin/assets), where
// the daemon reads them, so `pnpm build` (and `pnpm deploy`, which ships dist/) carries them.
import { cpSync, rmSync } from "node:fs";

const from = new URL("../src/admin/assets/", import.meta.url);
const to = new URL("../dist/admin/assets/", import.meta.url);
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
