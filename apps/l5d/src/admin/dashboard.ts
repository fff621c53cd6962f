/**
 * The dashboard at `/`: a static page (`assets/dashboard.html` + `dashboard.js`) that polls
 * `/routers.json` and `/admin/metrics.json` and shows, per router, request rate, success rate,
 * latency percentiles and connections per server, service and client.
 */
import type { Linker } from "../linker.js";
import { assetText } from "./static-assets.js";

export function dashboardHtml(_linker?: Linker): string {
  return (
    assetText("dashboard.html") ||
    "<!doctype html><title>l5d-ts</title><p>dashboard assets are missing from this build</p>"
  );
}
