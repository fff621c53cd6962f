/**
 * The dashboard and the dtab playground driven in headless Chromium (Debian's `chromium`,
 * through playwright-core; no browser download). Screenshots go to `test-artifacts/`.
 * Without a Chromium binary these tests are skipped, never passed.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { callGreeting, startHelloWorldServer } from "@l5d/helloworld";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort, startTestDaemon } from "./support.js";

/** The page's DOM, as the functions evaluated in it see it (this file is compiled without the DOM lib). */
declare const document: { body: { dataset: Record<string, string | undefined> } };

const CHROMIUM = process.env.L5D_CHROMIUM ?? "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const ARTIFACTS = fileURLToPath(new URL("../../../../test-artifacts/", import.meta.url));
if (!HAVE_CHROMIUM) {
  console.warn(
    `SKIPPED admin UI browser tests: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set L5D_CHROMIUM)`,
  );
}

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

let context: BrowserContext | undefined;
let profile: string | undefined;

async function newPage(): Promise<Page> {
  const page = await context!.newPage();
  cleanup.push(() => page.close());
  page.setDefaultTimeout(10_000);
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  cleanup.push(async () => expect(errors, "errors in the page").toEqual([]));
  // offline: the page may only talk to the admin server
  await page.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => route.abort());
  return page;
}

async function world(text: string) {
  const s = await startHelloWorldServer({ addr: "127.0.0.1:0", text });
  cleanup.push(() => s.close());
  return s;
}

describe.skipIf(!HAVE_CHROMIUM)(`admin UI in headless Chromium (${CHROMIUM})`, () => {
  beforeAll(async () => {
    profile = mkdtempSync(join(tmpdir(), "l5d-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it("the dashboard shows each router's servers, services and clients with live rates", async () => {
    const w = await world("world");
    const d = await startTestDaemon(`
admin: {port: ${await freePort()}}
routers:
- protocol: h2
  label: outgoing
  identifier: {kind: io.l5d.header.path, segments: 1}
  dtab: /svc => /$/inet/127.0.0.1/${w.port};
  servers: [{port: ${await freePort()}}]
- protocol: h2
  label: incoming
  identifier: {kind: io.l5d.header.path, segments: 1}
  dtab: /svc => /$/nil;
  servers: [{port: ${await freePort()}}]
`);
    cleanup.push(async () => {
      await d[Symbol.asyncDispose]();
    });
    const page = await newPage();
    await page.goto(`${d.adminUrl}/?interval=300`);
    await page.waitForSelector('section[data-router="outgoing"]');
    await page.waitForSelector('section[data-router="incoming"]');
    const polls = async () => Number(await page.evaluate(() => document.body.dataset.polls ?? "0"));
    // traffic between polls, so rates are computed from deltas
    const start = await polls();
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        Array.from({ length: 10 }, () => callGreeting(d.addr("outgoing"), { service: "World" })),
      );
      const seen = await polls();
      await page.waitForFunction((n) => Number(document.body.dataset.polls ?? "0") > n, seen);
    }
    expect(await polls()).toBeGreaterThan(start + 2);
    const port = d.addr("outgoing").split(":")[1];
    const out = page.locator('section[data-router="outgoing"]');
    const server = out.locator(`table.servers tr[data-name="127.0.0.1:${port}"]`);
    await expect
      .poll(async () => Number(await server.locator("td.requests").textContent()))
      .toBe(30);
    const service = out.locator('table.services tr[data-name="/svc/helloworld.World"]');
    expect(await service.locator("td.sr").textContent()).toBe("100%");
    const client = out.locator(`table.clients tr[data-name="/$/inet/127.0.0.1/${w.port}"]`);
    expect(Number(await client.locator("td.requests").textContent())).toBe(30);
    expect(Number(await client.locator("td.endpoints").textContent())).toBe(1);
    expect(Number(await client.locator("td.removed").textContent())).toBe(0);
    // the client's endpoint with its failure-accrual state (from /routers.json)
    const ep = out.locator(`table.endpoints tr[data-endpoint="127.0.0.1:${w.port}"]`);
    expect(await ep.getAttribute("data-client")).toBe(`/$/inet/127.0.0.1/${w.port}`);
    expect(await ep.locator("td.state").textContent()).toBe("alive");
    expect(Number(await ep.locator("td.requests").textContent())).toBe(30);
    // the rate came from a delta: some poll interval saw requests
    expect(await server.locator("td.rps").textContent()).toMatch(/^\d+(\.\d)?$/);
    // the request-rate history (sparkline) saw the traffic: rates come from deltas between polls
    const history = (await out.locator(".spark svg").getAttribute("data-values"))!
      .split(",")
      .map(Number);
    expect(Math.max(...history)).toBeGreaterThan(0);
    expect(await page.locator('section[data-router="incoming"] table.services').count()).toBe(0); // no services yet
    await page.screenshot({ path: join(ARTIFACTS, "dashboard.png"), fullPage: true });
  }, 60_000);

  it("the dtab playground draws the delegation tree and marks the branch a request really takes", async () => {
    const w1 = await world("world-one");
    const w2 = await world("world-two");
    const base = `/svc => /$/inet/127.0.0.1/${w1.port}; /svc/helloworld.World => /#/nowhere | /$/inet/127.0.0.1/${w2.port};`;
    const d = await startTestDaemon(`
admin: {port: ${await freePort()}}
routers:
- protocol: h2
  label: outgoing
  identifier: {kind: io.l5d.header.path, segments: 1}
  dtab: "${base}"
  servers: [{port: ${await freePort()}}]
`);
    cleanup.push(async () => {
      await d[Symbol.asyncDispose]();
    });
    const page = await newPage();
    await page.goto(
      `${d.adminUrl}/delegator?router=outgoing&path=${encodeURIComponent("/svc/helloworld.World")}`,
    );
    await page.waitForFunction(() => document.body.dataset.done === "1");
    expect(await page.locator("#base").inputValue()).toContain(
      `/svc/helloworld.World => /#/nowhere | /$/inet/127.0.0.1/${w2.port}`,
    );
    const routed = page.locator("#routing .routed-leaf");
    expect(await routed.getAttribute("data-id")).toBe(`/$/inet/127.0.0.1/${w2.port}`);
    expect(
      (await page.locator('#tree .node.neg[data-path="/#/nowhere/"]').count()) +
        (await page.locator("#tree .node.neg").count()),
    ).toBeGreaterThan(0);
    expect(await page.locator("#tree .node.leaf.selected").count()).toBe(1);
    expect(await page.locator("#tree .node.leaf").count()).toBe(2); // w1's alternative is shown, not taken
    expect(await callGreeting(d.addr("outgoing"), { service: "World" })).toBe("world-two!");
    await page.screenshot({ path: join(ARTIFACTS, "delegator.png"), fullPage: true });

    // an extra dtab, typed in: the same answer as a request carrying it in l5d-dtab
    const extra = "/svc/helloworld.World => /svc/helloworld.Fallback;";
    await page.fill("#extra", extra);
    await page.click("#go");
    await page.waitForFunction(() => document.body.dataset.done === "2");
    expect(await routed.getAttribute("data-id")).toBe(`/$/inet/127.0.0.1/${w1.port}`);
    expect(
      await callGreeting(d.addr("outgoing"), { service: "World", metadata: { "l5d-dtab": extra } }),
    ).toBe("world-one!");
    expect(page.url()).toContain("dtab=");
    await page.screenshot({ path: join(ARTIFACTS, "delegator-extra-dtab.png"), fullPage: true });

    // a bad dtab is explained, not drawn
    await page.fill("#extra", "/svc => {");
    await page.click("#go");
    await page.waitForFunction(() => document.body.dataset.done === "3");
    expect(await page.locator("#error .error-box").textContent()).toMatch(/^400: Invalid dtab/);
  }, 60_000);
});
