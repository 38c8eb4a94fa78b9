// The desktop app's speed, measured on the real window (see desktop.sh). Figures are printed;
// the checks only make sure each measurement measured what it says.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

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

/** Runs xdotool (installed by desktop.sh) on the tests' X display. */
function xdotool(...args: string[]) {
  const run = spawnSync("xdotool", args, { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`xdotool ${args.slice(0, 6).join(" ")}…: ${run.stderr || run.error}`);
}

/** Where the page's (0, 0) is on the X screen: the pointer is moved onto the page and the page
 *  says where it felt it. */
async function screenOrigin(app: App): Promise<[number, number]> {
  xdotool("mousemove", "640", "400");
  await app.driver.executeScript(`
    window.__pointer = null;
    document.addEventListener("pointermove", (e) => { window.__pointer = [e.clientX, e.clientY]; }, { capture: true, once: true });
  `);
  xdotool("mousemove", "641", "401");
  const felt = await app.driver.wait(
    async () => (await app.driver.executeScript("return window.__pointer")) as [number, number] | null,
    5_000,
  );
  return [641 - felt![0], 401 - felt![1]];
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
    // Timed in the page, from the click on *Edit* to the first frame painted with the first
    // stage's last action in it (WebDriver's own round trips are not the app's time). The click
    // is the page's own: WebDriver's simulated pointer holds frames back (see dragAndTime).
    await app.driver.executeScript(`
      window.__opened = undefined;
      document.addEventListener("click", () => {
        const clicked = performance.now();
        const drawn = () => {
          if (!document.querySelector('[data-action="S0/A49"]')) return requestAnimationFrame(drawn);
          requestAnimationFrame(() => { window.__opened = performance.now() - clicked; });
        };
        requestAnimationFrame(drawn);
      }, { capture: true, once: true });
    `);
    await app.driver.executeScript("arguments[0].click()", await app.button("Edit", '[data-pipeline="bench-big"]'));
    await app.find('[data-action="S0/A49"]');
    const rendered = (await app.driver.wait(
      async () => (await app.driver.executeScript("return window.__opened")) as number | null,
      10_000,
    ))!;
    // The canvas gets the window, as for any large pipeline: S0 and S3 are both in view.
    await app.click('[data-fold="palette"] .fold-toggle');
    await app.click('[data-fold="inspector"] .fold-toggle');

    const elements = (await app.driver.executeScript("return document.querySelectorAll('.canvas *').length")) as number;
    report(`designer with 2,500 actions: opened (click to the first stages painted) in ${rendered.toFixed(0)} ms; ${elements} elements drawn`);
    // The same pointer path with no button down: what the window does at all on this machine.
    const hover = await dragAndTime(app, '[data-action="S0/A2"]', '[data-stage="S3"] [data-run-order="2"]', false);
    // The first drag of a session runs code the page has not run yet (JavaScriptCore compiles
    // it as it goes); later drags show what a user sees from then on.
    const first = await dragAndTime(app, '[data-action="S0/A0"]', '[data-stage="S3"] [data-run-order="2"]');
    await app.find('[data-stage="S3"] [data-action="S3/A0-2"]');
    const second = await dragAndTime(app, '[data-action="S0/A1"]', '[data-stage="S2"] [data-run-order="3"]');
    await app.find('[data-stage="S2"] [data-action="S2/A1-2"]');
    for (const [label, drag] of [
      ["the pointer moved the same way, no drag", hover],
      ["first drag", first],
      ["second drag", second],
    ] as const) {
      const during = drag.frames.map(([, length]) => length);
      report(
        `frame time while dragging (2,500 actions), ${label}: ${during.length} frames, p50 ${percentile(during, 50).toFixed(0)} ms, p95 ${percentile(during, 95).toFixed(0)} ms, max ${Math.max(...during).toFixed(0)} ms, ${during.filter((length) => length > MISSED_REFRESH_MS).length} over ${MISSED_REFRESH_MS} ms (a refresh missed)`,
      );
      const longest = [...drag.frames].sort((a, b) => b[1] - a[1]).slice(0, 3);
      for (const [start, length] of longest) {
        const happened = drag.events.filter(([t]) => t >= start && t <= start + length).map(([, what]) => what);
        report(`  a frame of ${length.toFixed(0)} ms${happened.length ? `: ${happened.join(", ")}` : ""}`);
      }
      expect(during.length).toBeGreaterThan(10);
    }
  });
});

/** A frame this long has missed at least one 60 Hz refresh (16.7 ms) that it should have made. */
const MISSED_REFRESH_MS = 25;

/**
 * Drags one element onto another with the X server's pointer (xdotool), as a mouse does: a
 * press, 40 small moves 30 ms apart, a glide to the target and the release. Returns each frame
 * (start, length) and what the drag changed on the page meanwhile (its start and end, each drop
 * zone it went over), so a long frame can be put down to what happened in it. WebDriver's own
 * simulated pointer holds the page's frames back while it works (no frame for up to a second,
 * whatever the page does), so frames timed under it measured WebKitWebDriver, not the app.
 */
async function dragAndTime(app: App, from: string, to: string, press = true) {
  await app.driver.executeScript(`
    window.__frames = [];
    window.__events = [];
    // Each measurement's frame loop stops when the next one starts.
    const run = (window.__runs = (window.__runs ?? 0) + 1);
    window.__run = run;
    let last = performance.now();
    const tick = (now) => { if (window.__run !== run) return; window.__frames.push([last, now - last]); last = now; requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
    const ghost = (nodes) => [...nodes].some((n) => n.matches?.(".drag-ghost") || n.querySelector?.(".drag-ghost"));
    window.__watch = new MutationObserver((changes) => {
      for (const change of changes) {
        if (change.type === "childList") {
          if (ghost(change.addedNodes)) window.__events.push([performance.now(), "drag starts"]);
          if (ghost(change.removedNodes)) window.__events.push([performance.now(), "drag ends"]);
          continue;
        }
        const element = change.target;
        if (/\\bover\\b/.test(element.getAttribute("class")) && !/\\bover\\b/.test(change.oldValue ?? "")) {
          const zone = element.dataset.runOrder ? "run order " + element.dataset.runOrder : "the gap " + (element.dataset.between ?? "");
          window.__events.push([performance.now(), "over " + zone]);
        }
      }
    });
    window.__watch.observe(document.querySelector(".view.designer"), { attributes: true, attributeFilter: ["class"], attributeOldValue: true, childList: true, subtree: true });
  `);
  const origin = await screenOrigin(app);
  const centre = async (selector: string) => {
    const [x, y] = (await app.driver.executeScript(
      "const r = document.querySelector(arguments[0]).getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]",
      selector,
    )) as [number, number];
    return [Math.round(x + origin[0]), Math.round(y + origin[1])] as const;
  };
  const [fromX, fromY] = await centre(from);
  const [toX, toY] = await centre(to);
  const script: string[] = ["mousemove", `${fromX}`, `${fromY}`, "sleep", "0.1"];
  if (press) script.push("mousedown", "1");
  script.push("sleep", "0.05");
  let [x, y] = [fromX + 8, fromY + 8];
  for (let step = 0; step < 40; step++) {
    [x, y] = [x + (step % 2 ? 12 : 9), y + (step % 2 ? 3 : -2)];
    script.push("mousemove", `${x}`, `${y}`, "sleep", "0.03");
  }
  for (let step = 1; step <= 10; step++) {
    const at = (a: number, b: number) => `${Math.round(a + ((b - a) * step) / 10)}`;
    script.push("mousemove", at(x, toX), at(y, toY), "sleep", "0.02");
  }
  script.push("sleep", "0.1");
  if (press) script.push("mouseup", "1");
  xdotool(...script);
  const [frames, events] = (await app.driver.executeScript(
    "window.__run = 0; window.__watch.disconnect(); return [window.__frames, window.__events]",
  )) as [[number, number][], [number, string][]];
  return { frames: frames.slice(1), events };
}
