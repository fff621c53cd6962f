/**
 * `io.l5d.recentRequests`: keeps a sample of the most recent requests (`sampleRate` required,
 * `capacity` 10) and shows them at `/requests` (HTML) and `/requests.json`.
 */
import type { PluginFactory } from "@l5d/config";
import type { RequestRecord } from "@l5d/h2-proxy";
import { z } from "zod";
import { json } from "../admin/admin-server.js";
import type { Telemeter } from "./telemeter.js";

export const recentRequestsSchema = z.strictObject({
  kind: z.literal("io.l5d.recentRequests"),
  sampleRate: z.number().min(0).max(1),
  capacity: z.number().int().min(1).default(10),
  experimental: z.boolean().optional(),
});
export type RecentRequestsConfig = z.infer<typeof recentRequestsSchema>;

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!,
  );
}

export class RecentRequests implements Telemeter {
  readonly #ring: RequestRecord[] = [];
  readonly #sources: Array<() => readonly RequestRecord[]> = [];

  constructor(
    readonly sampleRate: number,
    readonly capacity: number,
    private readonly random: () => number = Math.random,
  ) {}

  onRequest(r: RequestRecord): void {
    if (this.sampleRate < 1 && this.random() >= this.sampleRate) return;
    this.#ring.push(r);
    if (this.#ring.length > this.capacity) this.#ring.shift();
  }

  /** Samples taken elsewhere (the daemon's worker processes), shown with this one's. */
  addSource(read: () => readonly RequestRecord[]): void {
    this.#sources.push(read);
  }

  /** The most recent samples first, at most `capacity` (its own and its sources', by time). */
  get recent(): readonly RequestRecord[] {
    const own = [...this.#ring].reverse();
    if (this.#sources.length === 0) return own;
    const all = [...own, ...this.#sources.flatMap((read) => read())];
    return all.sort((a, b) => b.at - a.at).slice(0, this.capacity);
  }

  get adminRoutes() {
    return [
      {
        path: "/requests.json",
        description: "recently sampled requests (JSON)",
        handler: () => json(this.recent),
      },
      {
        path: "/requests",
        description: "recently sampled requests",
        handler: () => {
          const rows = this.recent
            .map(
              (r) =>
                `<tr><td>${new Date(r.at).toISOString()}</td><td>${escapeHtml(r.router)}</td><td>${escapeHtml(r.method)} ${escapeHtml(r.authority)}${escapeHtml(r.path)}</td><td>${escapeHtml(r.endpoint ?? "")}</td><td>${r.status ?? ""}</td><td>${r.grpcStatus ?? ""}</td><td>${r.durationMs.toFixed(1)} ms</td><td>${escapeHtml(r.error ?? "")}</td></tr>`,
            )
            .join("\n");
          return {
            contentType: "text/html; charset=utf-8",
            body: `<!doctype html><title>recent requests</title><h1>Recent requests</h1><table border=1><tr><th>at</th><th>router</th><th>request</th><th>endpoint</th><th>status</th><th>grpc-status</th><th>latency</th><th>error</th></tr>\n${rows}</table>`,
          };
        },
      },
    ];
  }
}

export const recentRequestsTelemeterFactory: PluginFactory<RecentRequestsConfig, Telemeter> = {
  kind: "io.l5d.recentRequests",
  schema: recentRequestsSchema as unknown as z.ZodType<RecentRequestsConfig>,
  make: (cfg) => new RecentRequests(cfg.sampleRate, cfg.capacity),
};
