// The desktop app's speed, measured on the real window (see desktop.sh). Figures are printed;
// the checks only make sure each measurement measured what it says.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Origin } from "selenium-webdriver";
import { afterAll, describe, expect, it, onTestFinished } from "vitest";

import { App, cli } from "../e2e/app";

const figures: string[] = [];
const report = (line: string) => {
  figures.push(line);
  console.log(line);
};

afterAll(() => {
  console.log(`\n--- desktop figures ---\n${figures.join("\n")}`);
});

const work = mkdtempSync(join(tmpdir(), "pipewright-bench-"));

function commandsAction(name: string, commands: string[], runOrder = 1) {
  return {
    name,
    runOrder,
    actionTypeId: { category: "Compute", owner: "AWS", provider: "Commands", version: "1" },
    commands,
  };
}

function importPipeline(declaration: { name: string; [field: string]: unknown }) {
  const file = join(work, `${declaration.name}.json`);
  writeFileSync(file, JSON.stringify(declaration));
  cli("import", file);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Resident memory of the app and the WebKit processes it started, in MiB. */
function residentMiB(): { app: number; total: number } {
  const stats = readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const status = readFileSync(`/proc/${pid}/status`, "utf8");
        const after = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
        const name = /Name:\s+(.*)/.exec(status)?.[1] ?? "";
        return { pid: Number(pid), ppid: Number(after[1]), rss, name };
      } catch {
        return undefined;
      }
    })
    .filter((s) => s !== undefined);
  const app = stats.filter((s) => s.name.startsWith("pipewright-desk")).sort((a, b) => b.pid - a.pid)[0];
  if (!app) return { app: NaN, total: NaN };
  const family = new Set([app.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const s of stats) {
      if (family.has(s.ppid) && !family.has(s.pid)) {
        family.add(s.pid);
        grew = true;
      }
    }
  }
  const total = stats.filter((s) => family.has(s.pid)).reduce((sum, s) => sum + s.rss, 0);
  return { app: app.rss, total };
}

describe("desktop speed", () => {
  it("cold start to first paint, and memory with 100 pipelines and 1,000 executions", async () => {
    for (let p = 0; p < 100; p++) {
      importPipeline({ name: `history-${String(p).padStart(3, "0")}`, pipelineType: "V2", stages: [{ name: "Build", actions: [commandsAction("Make", ["true"])] }] });
    }
    for (let p = 0; p < 100; p++) {
      for (let run = 0; run < 10; run++) cli("run", `history-${String(p).padStart(3, "0")}`);
    }
    const started = Date.now();
    const app = await App.open();
    const shown = Date.now();
    const paint = (await app.driver.executeScript(
      `const e = performance.getEntriesByType("paint").find(p => p.name === "first-contentful-paint");
       return e ? performance.timeOrigin + e.startTime : null;`,
    )) as number | null;
    await app.view("pipelines");
    await app.waitFor("100 pipelines listed", async () => (await app.findAll("tr[data-pipeline]")).length === 100);
    const listed = Date.now();
    await app.driver.sleep(1000);
    const memory = residentMiB();
    await app.close();
    report(`cold start (driver launches the app) to the window's first contentful paint: ${paint ? `${Math.round(paint - started)} ms` : "not reported by WebKit"}`);
    report(`cold start to the first view shown: ${shown - started} ms; to 100 pipelines listed: ${listed - started} ms`);
    report(`resident memory with 100 pipelines and 1,000 executions: app ${memory.app.toFixed(0)} MiB, app + WebKit processes ${memory.total.toFixed(0)} MiB`);
    expect(memory.total).toBeGreaterThan(0);
  });

  it("delay from an engine state change to the window showing it", async () => {
    importPipeline({
      name: "bench-latency",
      pipelineType: "V2",
      executionMode: "PARALLEL",
      stages: [
        { name: "One", actions: [commandsAction("First", ["sleep 0.3"])] },
        { name: "Two", actions: [commandsAction("Second", ["sleep 0.3"]), commandsAction("Third", ["true"], 2)] },
      ],
    });
    const app = await App.open();
    onTestFinished(() => app.close());
    await app.view("pipelines");
    await app.press("Monitor", '[data-pipeline="bench-latency"]');
    await app.find("#monitor-title");
    // Every status the window shows, with when it showed it.
    await app.driver.executeScript(`
      window.__seen = [];
      new MutationObserver((records) => {
        const t = performance.timeOrigin + performance.now();
        for (const r of records) {
          const el = r.target;
          if (el.dataset && el.dataset.action) window.__seen.push({ action: el.dataset.action, status: el.dataset.status, t });
        }
      }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ["data-status"], childList: true });
    `);
    const measure = async (label: string, start: () => Promise<void>) => {
      await app.driver.executeScript("window.__seen = []");
      await start();
      await app.find('.view-header [data-status="InProgress"]');
      await app.find('.view-header [data-status="Succeeded"]');
      await app.driver.sleep(300);
      const seen = (await app.driver.executeScript("return window.__seen")) as { action: string; status: string; t: number }[];
      const events = cli("events", "bench-latency", "--json")
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line));
      const latest = events.filter((e) => e.detail["execution-id"] === events[events.length - 1].detail["execution-id"]);
      const word: Record<string, string> = { STARTED: "InProgress", SUCCEEDED: "Succeeded" };
      const delays: number[] = [];
      for (const e of latest) {
        if (!e.detail.action || !word[e.detail.state]) continue;
        const key = `${e.detail.stage}/${e.detail.action}`;
        const at = Date.parse(e.time);
        const shown = seen.find((s) => s.action === key && s.status === word[e.detail.state] && s.t >= at - 5);
        if (shown) delays.push(shown.t - at);
      }
      report(
        `state change to window (${label}): ${delays.length} changes, p50 ${percentile(delays, 50).toFixed(0)} ms, max ${Math.max(...delays).toFixed(0)} ms`,
      );
      expect(delays.length).toBeGreaterThan(0);
    };
    await measure("execution started in the app", async () => {
      await app.press("Run pipeline");
      await app.press("Start execution");
    });
    // The monitor follows the latest execution, which the CLI starts in its own process.
    await app.view("pipelines");
    await app.press("Monitor", '[data-pipeline="bench-latency"]');
    await app.find('.view-header [data-status="Succeeded"]');
    await measure("execution started by the CLI in another process", async () => {
      spawn(process.env.PIPEWRIGHT_CLI!, ["run", "bench-latency"], { stdio: "ignore" });
    });
  });

  it("frame times while dragging in a pipeline of 50 stages x 50 actions", async () => {
    importPipeline({
      name: "bench-big",
      pipelineType: "V2",
      stages: Array.from({ length: 50 }, (_, s) => ({
        name: `S${s}`,
        actions: Array.from({ length: 50 }, (_, a) => commandsAction(`A${a}`, ["true"], 1 + (a % 5))),
      })),
    });
    const app = await App.open();
    onTestFinished(() => app.close());
    await app.view("pipelines");
    const opened = Date.now();
    await app.press("Edit", '[data-pipeline="bench-big"]');
    await app.find('[data-action="S0/A49"]');
    const rendered = Date.now() - opened;
    // The canvas gets the window, as for any large pipeline: S0 and S3 are both in view.
    await app.click('[data-fold="palette"] .fold-toggle');
    await app.click('[data-fold="inspector"] .fold-toggle');

    await app.driver.executeScript(`
      window.__frames = [];
      let last = performance.now();
      const tick = (now) => { window.__frames.push(now - last); last = now; if (window.__framing) requestAnimationFrame(tick); };
      window.__framing = true;
      requestAnimationFrame(tick);
    `);
    const source = await app.find('[data-action="S0/A0"]');
    const target = await app.find('[data-stage="S3"] [data-run-order="2"]');
    let actions = app.driver.actions({ async: true }).move({ origin: source }).press().move({ origin: Origin.POINTER, x: 8, y: 8, duration: 50 });
    for (let step = 0; step < 40; step++) {
      actions = actions.move({ origin: Origin.POINTER, x: step % 2 ? 12 : 9, y: step % 2 ? 3 : -2, duration: 30 });
    }
    await actions.move({ origin: target, duration: 200 }).release().perform();
    const frames = (await app.driver.executeScript("window.__framing = false; return window.__frames")) as number[];
    const during = frames.slice(1);
    await app.find('[data-stage="S3"] [data-action="S3/A0-2"]');
    report(`designer with 2,500 actions: opened (first stages drawn) in ${rendered} ms`);
    report(
      `frame time while dragging (2,500 actions): ${during.length} frames, p50 ${percentile(during, 50).toFixed(1)} ms, p95 ${percentile(during, 95).toFixed(1)} ms, max ${Math.max(...during).toFixed(1)} ms`,
    );
    expect(during.length).toBeGreaterThan(10);
  });
});
