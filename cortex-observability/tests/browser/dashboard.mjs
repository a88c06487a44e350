// Drives headless Chromium (Debian's package) through the Cortex operations dashboard; run by the
// Rust test `dashboard::browser` (cortex-observability/tests/observability/dashboard/browser.rs):
//
//   node dashboard.mjs <app base url> <dashboard token> <screenshot path>
//
// It signs in through the form, checks that every panel renders, makes requests against the app,
// waits (with a timeout) until the live numbers move, saves a screenshot, and prints one JSON
// line with what it saw. Any failure exits with status 1 and says what was expected.
import { chromium } from "playwright-core";

const [base, token, screenshot] = process.argv.slice(2);
if (!base || !token || !screenshot) {
  console.error("usage: node dashboard.mjs <app base url> <dashboard token> <screenshot path>");
  process.exit(2);
}
const executablePath = process.env.CORTEX_CHROMIUM || "/usr/bin/chromium";
const WAIT = 15_000;

const browser = await chromium.launch({
  executablePath,
  headless: true,
  // Containers run tests as root, where Chromium's sandbox cannot start.
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
});
const problems = [];
// Console errors count once signed in (the sign-in form itself is a 401, which Chromium logs).
let signedIn = false;
const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
try {
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (signedIn && message.type() === "error") problems.push(`console error: ${message.text()}`);
  });

  // Signed out: the form.
  const first = await page.goto(`${base}/_cortex`);
  if (first.status() !== 401) throw new Error(`expected the sign-in form (401), got ${first.status()}`);
  await page.screenshot({ path: screenshot.replace(/\.png$/, "-sign-in.png") });
  await page.fill("#token", token);
  await Promise.all([page.waitForURL(`${base}/_cortex`), page.click("button[type=submit]")]);
  signedIn = true;

  // Signed in: the panels fill from /api/app and the first snapshot.
  await page.waitForFunction(() => Number(document.body.dataset.snapshots || 0) >= 1, null, { timeout: WAIT });
  await page.waitForFunction(() => document.querySelectorAll("#route-table tbody tr").length > 3, null, { timeout: WAIT });
  const before = Number(await page.textContent("#kpi-total"));

  // Traffic: ok, slow, a server error and a 404, from outside the page.
  const statuses = [];
  for (let i = 0; i < 20; i++) statuses.push((await fetch(`${base}/users/${i}`)).status);
  for (let i = 0; i < 3; i++) statuses.push((await fetch(`${base}/slow`)).status);
  statuses.push((await fetch(`${base}/boom`)).status);
  statuses.push((await fetch(`${base}/no/such/page`)).status);

  // The numbers move: the live stream brings them in.
  await page.waitForFunction(
    (expected) => Number(document.getElementById("kpi-total").textContent) >= expected,
    before + statuses.length,
    { timeout: WAIT },
  );
  await page.waitForFunction(
    () => [...document.querySelectorAll("#route-stats td.route")].some((td) => td.textContent === "GET /users/{id}"),
    null,
    { timeout: WAIT },
  );
  await page.waitForFunction(
    () => document.querySelectorAll("#server-errors tbody td.bad").length > 0,
    null,
    { timeout: WAIT },
  );
  // The health checks run every 5 s; the first report comes with the first snapshot.
  await page.waitForFunction(() => !document.getElementById("health-status").textContent.endsWith("…"), null, { timeout: WAIT });

  const seen = await page.evaluate(() => ({
    total: Number(document.getElementById("kpi-total").textContent),
    rate: document.getElementById("kpi-rate").textContent,
    errorRate: document.getElementById("kpi-errors").textContent,
    p99: document.getElementById("kpi-p99").textContent,
    routeStats: [...document.querySelectorAll("#route-stats td.route")].map((td) => td.textContent),
    routeTable: document.querySelectorAll("#route-table tbody tr").length,
    plugins: [...document.querySelectorAll("#plugins tbody td.route")].map((td) => td.textContent),
    providers: document.querySelectorAll("#graph > li").length,
    mermaid: document.getElementById("mermaid").textContent.split("\n")[0],
    config: document.getElementById("config").textContent,
    health: document.getElementById("health-status").textContent,
    serverErrors: document.querySelectorAll("#server-errors tbody tr").length,
    logErrors: [...document.querySelectorAll("#log-errors .msg")].map((m) => m.textContent),
    bars: document.querySelectorAll("#sparkline rect").length,
    connection: document.getElementById("connection-text").textContent,
  }));
  await page.screenshot({ path: screenshot, fullPage: true });
  if (problems.length) throw new Error(problems.join("\n"));
  console.log(JSON.stringify({ before, statuses, ...seen }));
} catch (error) {
  console.error(`dashboard browser test: ${error.message}`);
  // What the page looked like when it failed.
  await page.screenshot({ path: screenshot, fullPage: true }).catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
}
