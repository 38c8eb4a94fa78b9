// The designer with pipelines of real size and shape: an 8-stage pipeline with a 5-wide run order
// seen whole after Fit, one move as one change, a drag from the keyboard, and the V2 forms
// (triggers, stage conditions) saved as the API takes them. It starts its own app on the suite's
// data directory.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Key } from "selenium-webdriver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { App, cli } from "./app";

let app: App;

beforeAll(async () => {
  // Imported before the app opens: its pipelines list shows what is stored when it loads.
  importWidePipeline();
  app = await App.open();
});

afterAll(async () => {
  await app?.close();
});

/** Eight stages; Deploy has five actions in parallel with long names, Build run orders 1 and 3. */
function importWidePipeline() {
  const commands = (name: string, runOrder: number) => ({
    name,
    runOrder,
    actionTypeId: { category: "Compute", owner: "AWS", provider: "Commands", version: "1" },
    commands: ["true"],
  });
  const stages = ["Source", "Build", "Test", "Package", "Staging", "Approve", "Deploy", "Verify"].map((name) => ({
    name,
    actions:
      name === "Deploy"
        ? [1, 2, 3, 4, 5].map((n) => commands(`deploy-to-region-number-${n}-of-the-fleet`, 1)).concat(commands("announce", 2))
        : name === "Build"
          ? [commands("compile", 1), commands("lint", 3)]
          : [commands(`${name.toLowerCase()}-step`, 1)],
  }));
  const file = join(mkdtempSync(join(tmpdir(), "pipewright-e2e-wide-")), "e2e-wide.json");
  writeFileSync(file, JSON.stringify({ name: "e2e-wide", pipelineType: "V2", stages }, null, 2));
  cli("import", file);
}

describe("the designer at real size", () => {
  it("shows an 8-stage pipeline whole after Fit, parallel actions inside their run order, and one move as one change", async () => {
    await app.view("pipelines");
    await app.press("Edit", '[data-pipeline="e2e-wide"]');
    await app.find('.canvas [data-stage="Verify"]');
    // Before Fit the pipeline is wider than the view, and the overview shows where the view is.
    await app.find(".minimap");
    await app.press("Fit");
    const layout = async () =>
      (await app.driver.executeScript(`
        const box = (e) => e.getBoundingClientRect();
        const inside = (a, b) => a.left >= b.left - 0.5 && a.right <= b.right + 0.5 && a.top >= b.top - 0.5 && a.bottom <= b.bottom + 0.5;
        const view = box(document.querySelector(".canvas-viewport"));
        const stages = [...document.querySelectorAll(".canvas .stage")];
        const problems = [];
        for (const stage of stages) {
          if (!inside(box(stage), view)) problems.push("stage " + stage.dataset.stage + " is out of view");
          for (const area of stage.querySelectorAll(".group-actions")) {
            for (const chip of area.querySelectorAll(".action-chip")) {
              if (!inside(box(chip), box(area))) problems.push(chip.dataset.action + " leaves its run order");
              if (!inside(box(chip), box(stage))) problems.push(chip.dataset.action + " leaves its stage");
            }
          }
        }
        return { stages: stages.length, problems, zoom: document.querySelector(".canvas").dataset.zoom };
      `)) as { stages: number; problems: string[]; zoom: string };
    await app.waitFor("every stage in view after Fit", async () => (await layout()).problems.length === 0);
    const fitted = await layout();
    expect(fitted.stages).toBe(8);
    expect(Number(fitted.zoom)).toBeLessThan(1);
    // The overview goes once the drawing fits: the frame after the new zoom is measured.
    await app.waitFor("the overview to go", async () => (await app.findAll(".minimap")).length === 0);
    await app.screenshot("14-designer-fit");

    // Folding the palette and the inspector away gives the canvas the window; Fit zooms in.
    await app.click('.designer:not([hidden]) [data-fold="palette"] .fold-toggle');
    await app.click('.designer:not([hidden]) [data-fold="inspector"] .fold-toggle');
    await app.press("Fit");
    await app.waitFor("a closer fit with the panels folded", async () => Number((await layout()).zoom) > Number(fitted.zoom));
    expect((await layout()).problems).toEqual([]);
    await app.screenshot("15-designer-fit-folded");
    await app.click('.designer:not([hidden]) [data-fold="inspector"] .fold-toggle');
    await app.click('.designer:not([hidden]) [data-fold="palette"] .fold-toggle');
    await app.click(".zoom-level");

    // One move, one change: compile joins run order 3, and only its runOrder differs.
    await app.click('[data-action="Build/compile"]');
    await app.driver.actions().keyDown(Key.ALT).sendKeys(Key.ARROW_DOWN).keyUp(Key.ALT).perform();
    await app.find('[data-stage="Build"] [data-run-order="3"] [data-action="Build/compile"]');
    await app.press("Changes");
    await app.waitFor("the change listed", async () => (await app.findAll(".diff-added")).length > 0);
    const changed = await Promise.all(
      (await app.findAll(".diff-added, .diff-removed")).map((line) => line.getText()),
    );
    expect(changed).toHaveLength(2);
    expect(changed[0]).toMatch(/^-\s*"runOrder": 1,?$/);
    expect(changed[1]).toMatch(/^\+\s*"runOrder": 3,?$/);
    await app.screenshot("16-designer-one-move");
    await app.press("Undo");

    // A drag from the keyboard: focus an action, Space picks it up, arrows carry it over the next
    // stage, Space drops it there.
    await app.driver.executeScript("arguments[0].focus()", await app.find('[data-action="Build/lint"]'));
    await app.driver.actions().sendKeys(Key.SPACE).perform();
    await app.find(".drag-ghost");
    for (let step = 0; step < 40 && (await app.findAll('[data-stage="Test"] .over')).length === 0; step++) {
      await app.driver.actions().sendKeys(Key.ARROW_RIGHT).perform();
    }
    await app.driver.actions().sendKeys(Key.SPACE).perform();
    await app.find('[data-stage="Test"] [data-action="Test/lint"]');
    await app.press("Undo");
  });

  it("edits a trigger and stage conditions through their forms, and the saved pipeline has them", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "pipewright-e2e-triggered-")), "e2e-triggered.json");
    writeFileSync(
      file,
      JSON.stringify({
        name: "e2e-triggered",
        pipelineType: "V2",
        stages: [
          {
            name: "Source",
            actions: [
              {
                name: "App",
                actionTypeId: { category: "Source", owner: "AWS", provider: "CodeStarSourceConnection", version: "1" },
                configuration: {
                  ConnectionArn: "arn:aws:codeconnections:us-east-1:123456789012:connection/abc",
                  FullRepositoryId: "acme/app",
                  BranchName: "main",
                },
                outputArtifacts: [{ name: "SourceOutput" }],
              },
            ],
          },
          {
            name: "Build",
            actions: [
              {
                name: "Make",
                actionTypeId: { category: "Compute", owner: "AWS", provider: "Commands", version: "1" },
                commands: ["make"],
                inputArtifacts: [{ name: "SourceOutput" }],
              },
            ],
          },
        ],
        triggers: [
          {
            providerType: "CodeStarSourceConnection",
            gitConfiguration: { sourceActionName: "App", push: [{ branches: { includes: ["main"] } }] },
          },
        ],
      }),
    );
    cli("import", file);
    await app.view("pipelines");
    await app.press("Edit", '[data-pipeline="e2e-triggered"]');
    await app.find('.canvas [data-stage="Build"]');
    // It opens at its start, wherever the pipeline before it was scrolled to.
    await app.waitFor("the canvas at its start", async () =>
      (await app.driver.executeScript("return document.querySelector('.canvas-viewport').scrollLeft")) === 0,
    );
    await app.press("Pipeline", ".designer:not([hidden]) .tabs");
    const push = '[data-trigger="0"] [data-filter="On push"]';
    expect(await (await app.find(`${push} input[name="branches.includes"]`)).getAttribute("value")).toBe("main");
    await app.type(`${push} input[name="tags.includes"]`, "v*, release-*");
    await app.type(`${push} input[name="filePaths.excludes"]`, "docs/**");
    await app.press("+ Pull request filter", '[data-trigger="0"]');
    await app.find('[data-trigger="0"] [data-filter="On pull request"]');
    await app.screenshot("17-designer-triggers");

    // The Build stage's conditions, through their forms: a retry on failure, an alarm rule on success.
    await app.click('.canvas [data-stage="Build"] .stage-head .link');
    await app.choose('[data-conditions="onFailure"] select[name="onFailure.result"]', "RETRY");
    await app.find('[data-conditions="onFailure"] select[name="retryMode"]');
    await app.press("+ Condition", '[data-conditions="onSuccess"]');
    await app.choose('[data-conditions="onSuccess"] select[name="rule.provider"]', "CloudWatchAlarm");
    await app.type('[data-conditions="onSuccess"] input[name="rule.AlarmName"]', "HighErrors");
    await app.screenshot("18-designer-conditions");

    // Selecting an action shows the artifact flow: the source makes what Make takes.
    await app.click('.canvas [data-action="Build/Make"]');
    await app.find('.canvas [data-action="Source/App"][data-flow="produces"]');
    await app.click('.canvas [data-action="Source/App"]');
    await app.find('.canvas [data-action="Build/Make"][data-flow="consumes"]');
    expect(await app.text('[data-artifact="SourceOutput"]')).toBe("SourceOutput → Build/Make");
    await app.press("Save");
    await app.waitFor("the new version", async () => (await app.text(".designer .view-header")).includes("saved version 2"));
    const saved = JSON.parse(cli("export", "e2e-triggered"));
    expect(saved.stages[1].onFailure).toEqual({ result: "RETRY", retryConfiguration: { retryMode: "FAILED_ACTIONS" } });
    expect(saved.stages[1].onSuccess).toEqual({
      conditions: [
        {
          result: "ROLLBACK",
          rules: [
            {
              name: "CloudWatchAlarm",
              ruleTypeId: { category: "Rule", owner: "AWS", provider: "CloudWatchAlarm", version: "1" },
              configuration: { AlarmName: "HighErrors" },
            },
          ],
        },
      ],
    });
    expect(saved.triggers).toEqual([
      {
        providerType: "CodeStarSourceConnection",
        gitConfiguration: {
          sourceActionName: "App",
          push: [{ branches: { includes: ["main"] }, tags: { includes: ["v*", "release-*"] }, filePaths: { excludes: ["docs/**"] } }],
          pullRequest: [{ events: ["OPEN", "UPDATED"], branches: { includes: ["main"] } }],
        },
      },
    ]);
  });
});
