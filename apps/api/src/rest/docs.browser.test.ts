import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";

import { chromium } from "playwright-core";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";

/** Where the screenshot goes (git-ignored). */
const outputDir = path.resolve(import.meta.dirname, "../../test-output");

/** Chromium from Debian's package (`apt-get install chromium`; `.ci/run` installs it when missing). */
const executablePath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const chromiumFound = existsSync(executablePath);

/** Fails the test (never skips it) when Chromium is not installed. */
function requireChromium(): void {
  if (!chromiumFound) {
    throw new Error(
      `No Chromium at ${executablePath}: install it (apt-get install -y chromium) or set CHROMIUM_PATH to its executable`,
    );
  }
}

let h: Harness;
let browser: Browser | undefined;
let page: Page;
/** Requests the page tried to send to any other host (aborted: the page must not need them). */
const external: string[] = [];

beforeAll(async () => {
  // Without Chromium each test fails with the reason (a failing hook would report them as skipped).
  if (!chromiumFound) return;
  h = await startHarness();
  const launched = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
  browser = launched;
  page = await launched.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(20_000);
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(`${h.url}/`) || url.startsWith("data:") || url.startsWith("blob:")) {
      return route.continue();
    }
    external.push(url);
    return route.abort();
  });
});

afterAll(async () => {
  await browser?.close();
  // Unset when Chromium was not found.
  await (h as Harness | undefined)?.close();
});

describe("the API reference page at /docs", () => {
  it("needs no credential and loads its script from the API", async () => {
    requireChromium();
    const html = await fetch(`${h.url}/docs`);
    expect(html.status).toBe(200);
    expect(html.headers.get("content-type")).toMatch(/^text\/html/);
    const text = await html.text();
    expect(text).toContain('src="/docs/scalar.js"');
    expect(text).toContain("/v1/openapi.json");

    const script = await fetch(`${h.url}/docs/scalar.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toMatch(/javascript/);
    expect((await script.text()).length).toBeGreaterThan(100_000);
  });

  it("lists the contact operations, and its 'Test Request' sends a call with a tenant's key that answers 200", async () => {
    requireChromium();
    const created = await h.alpha.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Docs", lastName: "Browser" },
    });

    await page.goto(`${h.url}/docs`);
    await page.getByRole("heading", { name: "Contacts API" }).first().waitFor();

    // The contacts tag in the sidebar opens on its operations.
    await page.locator("aside, nav").getByText("contacts", { exact: true }).first().click();
    for (const summary of ["Create a contact", "Get a contact", "Search contacts", "Delete a contact"]) {
      await page.getByText(summary, { exact: true }).first().waitFor({ state: "visible" });
    }

    // "Try it": the operation's Test Request opens Scalar's client, filled in as a reader would.
    await page.getByText("Get a contact", { exact: true }).first().click();
    await page
      .getByRole("button", { name: /Test Request.*get \/v1\/contacts\/\{id\}/ })
      .first()
      .click();
    const dialog = page.getByRole("dialog");
    await dialog.getByPlaceholder("Token").fill(h.alphaKey);
    const idRow = dialog
      .locator("tr")
      .filter({ has: page.locator(".cm-content", { hasText: /^id$/ }) })
      .first();
    await idRow.locator(".cm-content").nth(1).click();
    await page.keyboard.type(created.id);
    // The value reaches the request once the field is left: wait until the code snippet shows it.
    await page.keyboard.press("Tab");
    await page
      .getByRole("button", { name: /Code Snippet/ })
      .first()
      .click();
    await dialog.getByText(`/v1/contacts/${created.id}`).first().waitFor();

    const answered = page.waitForResponse(
      (r) => r.url() === `${h.url}/v1/contacts/${created.id}` && r.request().method() === "GET",
    );
    await dialog.getByRole("button", { name: "Send" }).first().click();
    const response = await answered;
    expect(response.status()).toBe(200);
    expect(await response.request().headerValue("authorization")).toBe(`Bearer ${h.alphaKey}`);
    expect(((await response.json()) as { lastName: string }).lastName).toBe("Browser");
    // The client shows the answer.
    await dialog
      .getByText(/200 OK/)
      .first()
      .waitFor();
    await dialog.getByText('"Browser"').first().waitFor();

    await mkdir(outputDir, { recursive: true });
    await page.screenshot({ path: path.join(outputDir, "docs-try-it.png") });
    expect(external).toEqual([]);
  });
});
