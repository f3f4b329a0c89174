/**
 * Browser tests' shared harness: Debian's chromium through playwright-core, a fresh world and the real
 * app on a free port for each test, and signed-in pages that record console errors, page errors and
 * requests to other origins (the pages load nothing from elsewhere). Call inside a describe().
 */
import { mkdir } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { useApp } from "./app.ts";
import type { World } from "./fixtures.ts";
import { PASSWORD } from "./http.ts";

export const SHOTS = "test-artifacts/screenshots";
export const DESK = { width: 1440, height: 900 };
export const PHONE = { width: 390, height: 844 };
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Debian's chromium, headless, with nothing reaching for the network on its own (this machine's network is closed). */
export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });

export interface BrowserHarness {
  /** This test's world (units, service, clock). */
  readonly w: World;
  readonly base: string;
  readonly browser: Browser;
  /** What went wrong in any page so far: console errors, page errors, outside requests. */
  readonly problems: string[];
  /** A new context signed in as `username`; `bypassCSP` lets a test inject axe-core. */
  as(username: string, opts?: { viewport?: { width: number; height: number }; bypassCSP?: boolean; ignore?: RegExp }): Promise<{ ctx: BrowserContext; page: Page }>;
  /** A new context that is not signed in. */
  anonymous(opts?: { viewport?: { width: number; height: number }; bypassCSP?: boolean }): Promise<Page>;
}

/**
 * The moment every browser test's world starts at unless it names its own: a fixed day, not the wall
 * clock, so "today + 30 days" stays inside the years the shipped holiday calendar covers.
 */
export const BROWSER_START = "2026-03-02T09:00:00+08:00";

export function browserHarness(start: () => string = () => BROWSER_START): BrowserHarness {
  let browser: Browser;
  let server: Server;
  let base = "";
  const problems: string[] = [];
  const contexts: BrowserContext[] = [];

  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  const t = useApp({
    start,
    ready: async (fx) => {
      server = fx.app.listen(0, "127.0.0.1");
      await new Promise((r) => server.once("listening", r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      problems.length = 0;
    },
    teardown: async () => {
      for (const c of contexts.splice(0)) await c.close();
      await new Promise((r) => server.close(r));
    },
  });

  async function context(label: string, opts: { viewport?: { width: number; height: number }; bypassCSP?: boolean; ignore?: RegExp }) {
    const viewport = opts.viewport ?? DESK;
    const phone = viewport.width < 500;
    const ctx = await browser.newContext({ viewport, locale: "zh-CN", bypassCSP: opts.bypassCSP ?? false, hasTouch: phone, isMobile: phone });
    contexts.push(ctx);
    const page = await ctx.newPage();
    page.on("console", (m) => m.type() === "error" && !opts.ignore?.test(m.text()) && problems.push(`${label} console: ${m.text()}`));
    page.on("pageerror", (e) => problems.push(`${label} page error: ${e.message}`));
    page.on("request", (r) => !r.url().startsWith(base) && !r.url().startsWith("data:") && problems.push(`${label} requested ${r.url()}`));
    return { ctx, page };
  }

  return {
    get w() {
      return t.w;
    },
    get base() {
      return base;
    },
    get browser() {
      return browser;
    },
    problems,
    async as(username, opts = {}) {
      const { ctx, page } = await context(username, opts);
      await page.goto(`${base}/login`);
      await page.fill('input[name="username"]', username);
      await page.fill('input[name="password"]', PASSWORD);
      await Promise.all([page.waitForURL(`${base}/`), page.click('button[type="submit"]')]);
      return { ctx, page };
    },
    async anonymous(opts = {}) {
      return (await context("anonymous", opts)).page;
    },
  };
}
