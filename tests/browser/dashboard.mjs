// The dashboard in a real browser: signs in through the form, reads what a person sees
// (metrics, ring charts, rows, the versions of a detail view), adds an artifact through the
// form (a bad name first), walks every control with the keyboard, and writes screenshots.
// Prints one JSON object of what it saw; the Rust test compares it with the API's answers.
//
// Environment: BASE_URL, API_TOKEN, OUT_DIR, DETAIL (an artifact's type/name),
// CHROMIUM (default /usr/bin/chromium).

import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const base = process.env.BASE_URL;
const token = process.env.API_TOKEN;
const out = process.env.OUT_DIR;
const detail = process.env.DETAIL;
mkdirSync(out, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const seen = { requests: [] };
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  // Every request the pages make, to prove none leaves the monitor's own origin.
  page.on("request", (r) => seen.requests.push(r.url()));

  // Not signed in: the dashboard sends the browser to the sign-in form.
  await page.goto(base + "/");
  seen.login_url = page.url();
  await page.fill("#token", "wrong-token-wrong-token-wrong-token");
  await page.click("button[type=submit]");
  seen.login_error = await page.locator("#token-error").innerText();
  await page.fill("#token", token);
  await Promise.all([page.waitForURL(base + "/"), page.click("button[type=submit]")]);

  seen.metrics = {};
  for (const el of await page.locator("[data-metric]").all()) {
    const name = await el.getAttribute("data-metric");
    seen.metrics[name] = Number(await el.locator(".value").innerText());
  }
  seen.rows = [];
  for (const row of await page.locator("tr[data-artifact]").all()) {
    const ring = row.locator("svg.ring");
    seen.rows.push({
      artifact: await row.getAttribute("data-artifact"),
      warning: (await row.locator("svg.warn").count()) > 0,
      ring: {
        total: Number(await ring.getAttribute("data-total")),
        compliant: Number(await ring.getAttribute("data-compliant")),
        non_compliant: Number(await ring.getAttribute("data-non-compliant")),
        pending: Number(await ring.getAttribute("data-pending")),
        centre: Number(await ring.locator("text").textContent()),
        label: await ring.getAttribute("aria-label"),
      },
      cells: await row.locator("td").allInnerTexts(),
    });
  }
  await page.screenshot({ path: out + "/dashboard.png", fullPage: true });

  // Every control is reached with the keyboard alone.
  const controls = await page.evaluate(() =>
    Array.from(document.querySelectorAll("a[href], button, input:not([type=hidden]), select, summary"))
      .filter((el) => el.offsetParent !== null)
      .map((el, i) => { el.setAttribute("data-focus-id", String(i)); return String(i); }));
  const reached = new Set();
  await page.locator("body").focus();
  for (let i = 0; i < controls.length + 5; i++) {
    await page.keyboard.press("Tab");
    const id = await page.evaluate(() => document.activeElement && document.activeElement.getAttribute("data-focus-id"));
    if (id !== null) { reached.add(id); }
  }
  seen.keyboard = { controls: controls.length, reached: reached.size };

  // The add form: a bad name shows its error at the field; a good one opens its page.
  await page.fill("#name", "Bad Name");
  await page.fill("#repository", "octo-org/new-pkg");
  await page.fill("#workflow", ".github/workflows/release.yml");
  await page.click("#add button[type=submit]");
  seen.name_error = await page.locator("#name-error").innerText();
  seen.name_invalid = await page.locator("#name").getAttribute("aria-invalid");
  await page.fill("#name", "new-pkg");
  await Promise.all([page.waitForURL("**/view/npm/new-pkg"), page.click("#add button[type=submit]")]);
  seen.added_url = page.url();

  // The detail view: every version, each expandable to its evidence and reasons.
  const [kind, ...name] = detail.split("/");
  await page.goto(base + "/view/" + kind + "/" + encodeURIComponent(name.join("/")));
  seen.versions = [];
  for (const item of await page.locator("li[data-version]").all()) {
    seen.versions.push({
      version: await item.getAttribute("data-version"),
      compliance: await item.getAttribute("data-compliance"),
      badge: await item.locator(".badge").innerText(),
    });
  }
  const first = page.locator("li[data-version] summary").first();
  await first.focus();
  await page.keyboard.press("Enter");
  seen.expanded = await page.locator("li[data-version] details").first().evaluate((d) => d.open);
  seen.explanations = await page.locator("li[data-version] .reasons li").first().innerText();
  await page.screenshot({ path: out + "/detail.png", fullPage: true });

  // Readable on a phone.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
  await phone.addCookies(await context.cookies());
  const small = await phone.newPage();
  await small.goto(base + "/");
  seen.phone_overflow = await small.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  await small.screenshot({ path: out + "/dashboard-phone.png", fullPage: true });
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
