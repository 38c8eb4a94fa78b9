// The desktop app as a person uses it: design a pipeline by dragging, save it, run it, watch the
// monitor reach the approval, approve it from the inbox; and a failing run whose log the monitor
// shows. The CLI, on the same data directory, checks what the app says it did.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Key } from "selenium-webdriver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { App, cli, notifications } from "./app";

let app: App;

beforeAll(async () => {
  app = await App.open();
});

afterAll(async () => {
  await app?.close();
});

describe("designing, running and approving a pipeline", () => {
  it("builds a pipeline in the designer by dragging, and saves it", async () => {
    await app.view("pipelines");
    await app.press("New pipeline");
    await app.find('.canvas [data-stage="Build"] [data-action="Build/Hello"]');
    await app.type('input[name="pipelineName"]', "e2e-designed");

    // A Commands action dropped after the first run order becomes run order 2.
    await app.drag('[data-provider="Compute/Commands"]', '[data-between="0:1"]');
    await app.waitFor("the dropped action in run order 2", async () => {
      return (await app.findAll('[data-stage="Build"] [data-run-order="2"] .action-chip')).length === 1;
    });

    // A new stage, and a manual approval dragged into it.
    await app.press("+ Stage");
    await app.find('.canvas [data-stage="Stage"]');
    await app.drag('[data-provider="Approval/Manual"]', '[data-between="1:0"]');
    await app.find('[data-action="Stage/Approve"]');

    // Dragging the approval onto the first run order of Build runs it in parallel there.
    // While it is over Build, the run order under the pointer is highlighted and Build's gaps
    // between run orders (a drop there makes a new one) are outlined; the other stage's are not.
    await app.drag('[data-action="Stage/Approve"]', '[data-stage="Build"] [data-run-order="1"]', async () => {
      await app.find('[data-stage="Build"] [data-run-order="1"].over');
      expect(await app.findAll('[data-stage="Build"] .between.nearby')).not.toHaveLength(0);
      expect(await app.findAll('[data-stage="Stage"] .nearby')).toHaveLength(0);
      await app.screenshot("01-designer-dragging");
    });
    await app.find('[data-stage="Build"] [data-run-order="1"] [data-action="Build/Approve"]');
    // Undo puts it back in its own stage.
    await app.press("Undo");
    await app.find('[data-stage="Stage"] [data-action="Stage/Approve"]');

    // From the keyboard: Alt+Down moves the selected action to the next run order, Ctrl+Z undoes.
    // Only the moved action changes: it joins run order 2, which keeps its number.
    await app.click('[data-action="Build/Hello"]');
    await app.driver.actions().keyDown(Key.ALT).sendKeys(Key.ARROW_DOWN).keyUp(Key.ALT).perform();
    await app.find('[data-stage="Build"] [data-run-order="2"] [data-action="Build/Hello"]');
    expect(await app.findAll('[data-stage="Build"] [data-run-order="1"]')).toHaveLength(0);
    await app.click(".canvas");
    await app.driver.actions().keyDown(Key.CONTROL).sendKeys("z").keyUp(Key.CONTROL).perform();
    await app.find('[data-stage="Build"] [data-run-order="2"] [data-action="Build/Commands"]');

    // The JSON panel shows the same pipeline; an edit there shows on the canvas.
    await app.press("JSON / YAML");
    await app.waitFor("the pipeline as JSON", async () => (await app.text(".source-text")).includes('"e2e-designed"'));
    const json = (await (await app.find(".source-text")).getAttribute("value")) ?? "";
    await app.type(".source-text", json.replace('"name": "Stage"', '"name": "Release"'));
    await app.find('.canvas [data-stage="Release"] [data-action="Release/Approve"]');
    await app.click("#designer-title");
    await app.press("YAML");
    await app.waitFor("the pipeline as YAML", async () =>
      ((await (await app.find(".source-text")).getAttribute("value")) ?? "").includes("name: Release"),
    );
    await app.screenshot("01-designer");

    await app.press("Save");
    expect(await app.text(".notice")).toContain("Saved e2e-designed as version 1");

    const saved = JSON.parse(cli("export", "e2e-designed"));
    expect(saved.stages.map((s: { name: string }) => s.name)).toEqual(["Build", "Release"]);
    expect(
      saved.stages[0].actions.map((a: { name: string; runOrder?: number }) => [a.name, a.runOrder ?? 1]),
    ).toEqual([
      ["Hello", 1],
      ["Commands", 2],
    ]);
    expect(saved.stages[1].actions[0].actionTypeId).toMatchObject({ category: "Approval", provider: "Manual" });
  });

  it("runs it, and the monitor shows it reach the approval", async () => {
    await app.press("Monitor");
    await app.press("Run pipeline");
    await app.press("Start execution");
    await app.find('.monitor [data-action="Release/Approve"][data-status="InProgress"]');
    expect(await app.attribute('.monitor [data-action="Build/Hello"]', "data-status")).toBe("Succeeded");
    expect(await app.attribute('.monitor [data-action="Build/Commands"]', "data-status")).toBe("Succeeded");
    await app.click('.monitor [data-action="Build/Hello"]');
    await app.waitFor("the Hello action's log", async () =>
      (await app.text(".log")).includes("Hello from Pipewright"),
    );
    await app.screenshot("02-monitor-waiting");
  });

  it("approves it from the inbox, and the execution succeeds", async () => {
    await app.view("approvals");
    const approval = '[data-approval="e2e-designed/Release/Approve"]';
    expect(await app.text(approval)).toContain("Please review and approve.");
    // What ran before it in this execution, with its result.
    expect(await app.text(`${approval} [data-ran="Build/Hello"]`)).toContain("Succeeded");
    expect(await app.text(`${approval} [data-ran="Build/Commands"]`)).toContain("Succeeded");
    await app.type(`${approval} input`, "Looks good");
    await app.screenshot("03-approvals");
    expect(notifications.displayed()).toBe(1);
    await app.press("Approve", approval);
    await app.waitFor("the inbox to empty", async () => (await app.findAll(approval)).length === 0);
    // The approval's notification no longer offers Approve: it says the approval was decided, and goes.
    await app.waitFor("the approval's notification to go", async () => notifications.displayed() === 0, 15_000);
    expect(notifications.history()[0]?.summary).toBe("Approval decided");

    await app.view("monitor");
    await app.find('.view-header [data-status="Succeeded"]');
    await app.screenshot("04-monitor-succeeded");
    await app.press("Dark theme");
    await app.screenshot("04-monitor-succeeded-dark");
    await app.press("Light theme");

    const executions = JSON.parse(cli("executions", "e2e-designed", "--json"));
    expect(executions.pipelineExecutionSummaries[0].status).toBe("Succeeded");
    const history = cli("history", "e2e-designed");
    expect(history).toContain("PutApprovalResult");
  });
});

describe("approving from the notification", () => {
  it("a second run waits at the approval and is approved from the notification's Approve", async () => {
    notifications.closeAll();
    await app.view("monitor");
    await app.press("Run pipeline");
    await app.press("Start execution");
    await app.find('.monitor [data-action="Release/Approve"][data-status="InProgress"]');
    await app.waitFor("the approval notification", async () => notifications.displayed() === 1);

    const offered = await notifications.press("approve");
    expect(offered).toContain("Approve (Approval needed)");
    expect(offered).toContain("Reject (Approval needed)");

    await app.find('.view-header [data-status="Succeeded"]');
    const actions = cli("actions", "e2e-designed", "--json");
    expect(actions).toContain("Approved from the desktop notification");
    await app.screenshot("05-approved-from-notification");
  });
});

describe("a failing run", () => {
  it("shows the failed action and its log in the monitor", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pipewright-e2e-"));
    const file = join(dir, "e2e-failing.json");
    writeFileSync(
      file,
      JSON.stringify({
        name: "e2e-failing",
        pipelineType: "V2",
        stages: [
          {
            name: "Build",
            actions: [
              {
                name: "Compile",
                actionTypeId: { category: "Compute", owner: "AWS", provider: "Commands", version: "1" },
                commands: ["echo compiling the widget", "echo 'error: widget.c:3: expected ;' >&2", "exit 3"],
              },
            ],
          },
        ],
      }),
    );
    cli("import", file);
    notifications.closeAll();

    await app.view("pipelines");
    await app.find('[data-pipeline="e2e-failing"]');
    await app.press("Run", '[data-pipeline="e2e-failing"]');
    await app.find('.monitor [data-action="Build/Compile"][data-status="Failed"]');
    await app.click('.monitor [data-action="Build/Compile"]');
    await app.waitFor("the failed action's log", async () =>
      (await app.text(".log")).includes("expected ;"),
    );
    expect(await app.text(".action-details")).toContain("CommandFailed");
    // No image in its settings: the monitor says the build ran here.
    expect(await app.text(".action-details [data-ran-on]")).toBe("Ran on this machine");
    await app.screenshot("06-monitor-failed");

    await app.view("pipelines");
    await app.find('[data-pipeline="e2e-failing"] [data-status="Failed"]');
    await app.screenshot("07-pipelines");
  });

  it("raises a failure notification whose Open shows the failed execution", async () => {
    await app.waitFor("the failure notification", async () => notifications.displayed() === 1);
    await app.view("approvals");
    notifications.open();
    await app.waitFor("the monitor of the failed pipeline", async () =>
      (await app.text("#monitor-title")) === "e2e-failing",
    );
    await app.find('.monitor [data-action="Build/Compile"][data-status="Failed"]');
    notifications.closeAll();
    const [failure] = notifications.history();
    expect(failure?.summary).toBe("e2e-failing failed");
  });

  it("stays quiet about a pipeline the user muted, and still tells about the others", async () => {
    await app.view("settings");
    await app.click('input[data-notify-pipeline="e2e-failing"]');
    const settingsFile = join(process.env.PIPEWRIGHT_DATA_DIR!, "desktop-settings.json");
    await app.waitFor("the setting to be saved", async () =>
      JSON.parse(readFileSync(settingsFile, "utf8")).mutedPipelines.includes("e2e-failing"),
    );

    await app.view("pipelines");
    await app.press("Run", '[data-pipeline="e2e-failing"]');
    await app.find('.monitor [data-action="Build/Compile"][data-status="Failed"]');
    await app.driver.sleep(1500);
    expect(notifications.displayed()).toBe(0);

    await app.view("pipelines");
    await app.press("Run", '[data-pipeline="e2e-designed"]');
    await app.waitFor("the approval notification of the pipeline not muted", async () => notifications.displayed() === 1);
    await app.view("approvals");
    await app.press("Reject", '[data-approval="e2e-designed/Release/Approve"]');
    await app.view("monitor");
    await app.find('.view-header [data-status="Failed"]');
  });
});

describe("a real pipeline that needs a local plan", () => {
  it("opens the plan as a form on Run, and runs as the form says once it is saved", async () => {
    // The repository the pipeline builds: a commit, then a change not committed yet.
    const repo = mkdtempSync(join(tmpdir(), "pipewright-e2e-repo-"));
    const git = (...args: string[]) => execFileSync("git", ["-C", repo, ...args], { stdio: "pipe" });
    git("init", "-q", "-b", "main");
    writeFileSync(join(repo, "app.txt"), "committed\n");
    git("add", ".");
    git("-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-q", "-m", "app");
    writeFileSync(join(repo, "app.txt"), "not committed yet\n");
    // Where it lives gives the commit a page, which the monitor shows.
    git("remote", "add", "origin", "git@github.com:acme/app.git");
    const head = git("rev-parse", "HEAD").toString().trim();
    // As `aws codepipeline get-pipeline` prints one: a connection source, a CloudFormation deploy
    // whose output a later action reads, no runOrder on the first actions, no local settings.
    const dump = join(mkdtempSync(join(tmpdir(), "pipewright-e2e-")), "e2e-planned.json");
    writeFileSync(
      dump,
      JSON.stringify({
        pipeline: {
          name: "e2e-planned",
          roleArn: "arn:aws:iam::123456789012:role/pipeline",
          artifactStore: { type: "S3", location: "codepipeline-us-east-1-123456789012" },
          pipelineType: "V2",
          version: 4,
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
              name: "Deploy",
              actions: [
                {
                  name: "Stack",
                  namespace: "StackVars",
                  actionTypeId: { category: "Deploy", owner: "AWS", provider: "CloudFormation", version: "1" },
                  configuration: { ActionMode: "CREATE_UPDATE", StackName: "app" },
                  inputArtifacts: [{ name: "SourceOutput" }],
                },
                {
                  name: "Smoke",
                  runOrder: 2,
                  actionTypeId: { category: "Compute", owner: "AWS", provider: "Commands", version: "1" },
                  commands: ["echo smoke test of #{StackVars.ApiUrl}", "cat app.txt"],
                  inputArtifacts: [{ name: "SourceOutput" }],
                },
              ],
            },
          ],
        },
        metadata: { pipelineArn: "arn:aws:codepipeline:us-east-1:123456789012:e2e-planned" },
      }),
    );
    cli("import", dump);

    await app.view("pipelines");
    await app.press("Run", '[data-pipeline="e2e-planned"]');
    const source = '[role="dialog"] [data-local-action="Source/App"]';
    const stack = '[role="dialog"] [data-local-action="Deploy/Stack"]';
    await app.find(source);
    expect(await app.text('[role="dialog"]')).toContain("Some actions cannot run here as they are");
    expect(await app.text(stack)).toContain("proposed");
    expect(
      await (await app.find(`${stack} textarea[name="outputVariables"]`)).getAttribute("value"),
    ).toBe("ApiUrl=placeholder-StackVars.ApiUrl");

    // Saving without a folder for the source is refused, and says which.
    await app.press("Save and run");
    await app.waitFor("the missing folder named", async () =>
      (await app.text('[role="dialog"] .error-banner')).includes("Choose a folder for Source/App"),
    );
    await app.type(`${source} input[name="path"]`, repo);
    await app.type(`${stack} textarea[name="outputVariables"]`, "ApiUrl=https://api.e2e.test");
    await app.waitFor("the error to go once the folder is chosen", async () =>
      (await app.findAll('[role="dialog"] .error-banner')).length === 0,
    );
    await app.screenshot("12-local-plan-form");
    await app.press("Save and run");

    await app.waitFor("the monitor of the planned pipeline", async () =>
      (await app.text("#monitor-title")) === "e2e-planned",
    );
    await app.find('.view-header [data-status="Succeeded"]');
    // The commit the execution carries: its short id, its message, its page.
    const revisions = await app.text(".monitor .revisions");
    expect(revisions).toContain(`SourceOutput: ${head.slice(0, 7)} app`);
    expect(revisions).toContain("by Dev");
    expect(revisions).toContain(`https://github.com/acme/app/commit/${head}`);
    // The chain of actions that set its duration, and what it would cost on AWS (V2: three
    // actions, each rounded up to a minute).
    expect(await app.text(".timeline .critical-path")).toMatch(/critical path: Source\/App → .*Deploy\/Smoke/);
    expect(await app.attribute('.cost[data-cost="V2"]', "data-minutes")).toBe("3");
    expect(await app.text(".cost")).toContain("$0.006");
    await app.click('.monitor [data-action="Deploy/Smoke"]');
    await app.waitFor("the smoke test's log", async () => {
      const log = await app.text(".log");
      return log.includes("smoke test of https://api.e2e.test") && log.includes("not committed yet");
    });
    // The action's artifacts with their sizes, each exportable.
    expect(await app.text('.action-details [data-artifact-row="SourceOutput"]')).toMatch(/input SourceOutput \d+ files?, [\d.]+ k?B\s*Export…/);
    expect(await app.text('.monitor [data-action="Deploy/Stack"]')).toContain("simulated");
    await app.click('.monitor [data-action="Deploy/Stack"]');
    await app.find(".action-details [data-simulated]");
    await app.click('.monitor [data-action="Deploy/Smoke"]');
    await app.waitFor("the smoke test's log again", async () => (await app.text(".log")).includes("not committed yet"));
    await app.screenshot("13-planned-run");

    // The settings were kept with the pipeline: the form opens again with nothing proposed.
    await app.press("Local settings");
    await app.find(source);
    expect(await (await app.find(`${source} input[name="path"]`)).getAttribute("value")).toBe(repo);
    expect(await app.findAll('[role="dialog"] .badge')).toHaveLength(0);
    await app.press("Cancel", '[role="dialog"]');
    const state = cli("state", "e2e-planned");
    expect(state).toMatch(/Stack.*simulated/);
    expect(cli("history", "e2e-planned")).toContain("SaveLocalSettings");
  });
});

describe("a build's reports", () => {
  it("shows the test report of the selected build, with its failed test", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pipewright-e2e-reports-"));
    writeFileSync(
      join(dir, "buildspec.yml"),
      [
        "version: 0.2",
        "phases:",
        "  build:",
        "    commands:",
        "      - printf '<testsuite name=\"cart\"><testcase classname=\"CartTest\" name=\"adds\"/><testcase classname=\"CartTest\" name=\"totals\"><failure message=\"expected 3 but was 2\"/></testcase></testsuite>' > junit.xml",
        "reports:",
        "  unit:",
        "    files: junit.xml",
        "",
      ].join("\n"),
    );
    const file = join(dir, "e2e-reports.json");
    writeFileSync(
      file,
      JSON.stringify({
        name: "e2e-reports",
        pipelineType: "V2",
        stages: [
          {
            name: "Source",
            actions: [
              {
                name: "Src",
                actionTypeId: { category: "Source", owner: "AWS", provider: "S3", version: "1" },
                configuration: { S3Bucket: "b", S3ObjectKey: "k.zip" },
                outputArtifacts: [{ name: "Src" }],
              },
            ],
          },
          {
            name: "Test",
            actions: [
              {
                name: "Unit",
                actionTypeId: { category: "Test", owner: "AWS", provider: "CodeBuild", version: "1" },
                configuration: { ProjectName: "tests" },
                inputArtifacts: [{ name: "Src" }],
              },
            ],
          },
        ],
      }),
    );
    writeFileSync(join(dir, "e2e-reports.pipewright.yaml"), `actions:\n  Source/Src: {path: ${dir}}\n`);
    cli("import", file);
    await app.view("pipelines");
    await app.press("Run", '[data-pipeline="e2e-reports"]');
    await app.find('.view-header [data-status="Succeeded"]');
    await app.click('.monitor [data-action="Test/Unit"]');
    const report = '.action-details [data-report="unit"]';
    await app.find(`${report}[data-report-status="FAILED"]`);
    expect(await app.text(report)).toContain("2 tests: 1 SUCCEEDED, 1 FAILED");
    expect(await app.text(report)).toContain("CartTest totals: expected 3 but was 2");
    await app.screenshot("14-monitor-reports");
  });
});

describe("a batch build", () => {
  it("shows each build of the batch with its status, and its own log", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pipewright-e2e-batch-"));
    writeFileSync(
      join(dir, "buildspec.yml"),
      [
        "version: 0.2",
        "batch:",
        "  build-matrix:",
        "    dynamic:",
        "      env:",
        "        variables:",
        "          TARGET: [linux, windows, mac]",
        "phases:",
        "  build:",
        "    commands:",
        '      - echo "building for $TARGET as $CODEBUILD_BATCH_BUILD_IDENTIFIER"',
        "",
      ].join("\n"),
    );
    const file = join(dir, "e2e-batch.json");
    writeFileSync(
      file,
      JSON.stringify({
        name: "e2e-batch",
        pipelineType: "V2",
        stages: [
          {
            name: "Source",
            actions: [
              {
                name: "Src",
                actionTypeId: { category: "Source", owner: "AWS", provider: "S3", version: "1" },
                configuration: { S3Bucket: "b", S3ObjectKey: "k.zip" },
                outputArtifacts: [{ name: "Src" }],
              },
            ],
          },
          {
            name: "Build",
            actions: [
              {
                name: "Everywhere",
                actionTypeId: { category: "Build", owner: "AWS", provider: "CodeBuild", version: "1" },
                configuration: { ProjectName: "everywhere", BatchEnabled: "true" },
                inputArtifacts: [{ name: "Src" }],
              },
            ],
          },
        ],
      }),
    );
    writeFileSync(join(dir, "e2e-batch.pipewright.yaml"), `actions:\n  Source/Src: {path: ${dir}}\n`);
    cli("import", file);
    await app.view("pipelines");
    await app.press("Run", '[data-pipeline="e2e-batch"]');
    await app.find('.view-header [data-status="Succeeded"]');
    await app.click('.monitor [data-action="Build/Everywhere"]');
    await app.find('.batch-builds [data-batch-build="build3"][data-status="Succeeded"]');
    expect(await app.findAll(".batch-builds [data-batch-build]")).toHaveLength(3);
    await app.click('.batch-builds [data-batch-build="build2"]');
    await app.waitFor("build2's own log", async () =>
      (await app.text(".log")).includes("building for windows as build2"),
    );
    expect(await app.text(".log")).not.toContain("building for linux");
    await app.screenshot("15-monitor-batch");
  });
});

describe("an AWS connection", () => {
  it("lists a pipeline of the connection, shows its approval in the inbox and approves it there", async () => {
    // The AWS side is a `pipewright serve` on loopback with a data directory of its own.
    const data = mkdtempSync(join(tmpdir(), "pipewright-aws-"));
    const serve = spawn(process.env.PIPEWRIGHT_CLI!, ["serve", "--port", "0"], {
      env: { ...process.env, PIPEWRIGHT_DATA_DIR: data },
    });
    try {
      const endpoint = await new Promise<string>((resolve, reject) => {
        serve.stdout.on("data", (chunk: Buffer) => {
          const found = /http:\/\/127\.0\.0\.1:\d+/.exec(chunk.toString());
          if (found) resolve(found[0]);
        });
        serve.on("exit", () => reject(new Error("pipewright serve ended")));
      });
      const aws = ["--aws", "--endpoint-url", endpoint, "--region", "us-east-1"];
      const file = join(data, "remote.json");
      writeFileSync(
        file,
        JSON.stringify({
          name: "remote",
          pipelineType: "V2",
          stages: [
            { name: "Build", actions: [{ name: "Make", actionTypeId: { category: "Compute", owner: "AWS", provider: "Commands", version: "1" }, commands: ["true"] }] },
            { name: "Release", actions: [{ name: "Approve", actionTypeId: { category: "Approval", owner: "AWS", provider: "Manual", version: "1" }, configuration: { CustomData: "Ship it to the cloud?" } }] },
          ],
        }),
      );
      cli(...aws, "push", file, "--yes");

      await app.view("settings");
      await app.type('input[name="endpointUrl"]', endpoint);
      await app.type('input[name="region"]', "us-east-1");
      await app.press("Add connection");
      await app.find('[data-connection="aws:default@us-east-1"]');
      await app.screenshot("08-connections");

      await app.view("pipelines");
      const row = '[data-pipeline="remote"][data-connection="aws:default@us-east-1"]';
      await app.find(row);
      await app.press("Run", row);
      // Run shows the execution once AWS has started it; going on before that, the window would
      // leave the inbox for the monitor under the test.
      await app.find('.monitor [data-action="Build/Make"]');
      await app.view("approvals");
      const approval = '[data-approval="remote/Release/Approve"][data-connection="aws:default@us-east-1"]';
      try {
        await app.waitFor(
          "the AWS approval in the inbox",
          async () => (await app.findAll(approval)).length === 1,
          60_000,
        );
      } catch (error) {
        // What the window and the AWS side showed, for whoever reads the failure.
        await app.screenshot("09-aws-approval-missing");
        console.error("approvals on the AWS side:", cli(...aws, "approvals"));
        throw error;
      }
      expect(await app.text(approval)).toContain("Ship it to the cloud?");
      await app.screenshot("09-aws-approval");
      await app.press("Approve", approval);
      await app.waitFor("the AWS execution to succeed", async () => {
        const executions = JSON.parse(cli(...aws, "executions", "remote", "--json"));
        return executions.pipelineExecutionSummaries[0]?.status === "Succeeded";
      });

      // The designer's pipeline compared with the AWS side, pushed there, and then up to date.
      await app.view("designer");
      await app.press("Changes");
      await (await app.find(".deployed select")).sendKeys("aws:default@us-east-1");
      await app.press("Compare");
      await app.waitFor("the plan", async () => (await app.text(".deployed")).includes("Not deployed there yet"));
      await app.press("Push");
      await app.waitFor("the push", async () =>
        (await app.text(".deployed")).includes("Pushed e2e-designed: version 1 in aws:default@us-east-1"),
      );
      await app.waitFor("the plan after the push", async () =>
        (await app.text(".deployed")).includes("Up to date with version 1"),
      );
      await app.screenshot("10-designer-pushed");
      const pushed = JSON.parse(cli(...aws, "export", "e2e-designed"));
      expect(pushed.stages.map((s: { name: string }) => s.name)).toEqual(["Build", "Release"]);

      // A pipeline of the AWS side opened in the designer, compared with where it came from (the
      // connection is chosen already), and kept on this machine.
      await app.view("pipelines");
      await app.press("Edit", row);
      await app.waitFor("the AWS pipeline in the designer", async () =>
        (await app.text(".designer .view-header")).includes("version 1 in aws:default@us-east-1"),
      );
      expect(await app.text("#designer-title")).toBe("remote");
      await app.press("Changes");
      await app.press("Compare");
      await app.waitFor("the plan", async () => (await app.text(".deployed")).includes("Up to date with version 1"));
      await app.screenshot("11-designer-opened-from-aws");
      await app.press("Save");
      await app.waitFor("the copy on this machine", async () =>
        (await app.text(".designer .view-header")).includes("saved version 1"),
      );
      const kept = JSON.parse(cli("export", "remote"));
      expect(kept.stages[1].actions[0].configuration.CustomData).toBe("Ship it to the cloud?");

      // An action of the AWS execution replayed on this machine, from the monitor.
      await app.view("pipelines");
      await app.press("Monitor", row);
      await app.find('.monitor [data-action="Build/Make"][data-status="Succeeded"]');
      await app.click('.monitor [data-action="Build/Make"]');
      await app.press("Replay locally", ".action-details");
      await app.waitFor("the replay's monitor", async () =>
        (await app.text("#monitor-title")) === "remote.replay.Build.Make",
      );
      await app.find('.view-header [data-status="Succeeded"]');
      await app.screenshot("12-replayed-locally");
      const replays = JSON.parse(cli("executions", "remote.replay.Build.Make", "--json"));
      expect(replays.pipelineExecutionSummaries[0].status).toBe("Succeeded");

      // The AWS pipeline pulled and run here: it needs no plan, and waits at its approval.
      await app.view("pipelines");
      await app.press("Run locally", row);
      await app.waitFor("the local run's monitor", async () =>
        (await app.text(".monitor .view-header")).includes("remote") &&
        (await app.findAll('.monitor [data-action="Release/Approve"][data-status="InProgress"]')).length === 1,
      );
      expect(cli("export", "remote")).toContain("Ship it to the cloud?");
      cli("reject", "remote", "Release", "Approve", "--summary", "only trying it here");

      // The AWS side goes away: the inbox says its approvals cannot be shown, and why.
      serve.kill();
      await app.view("approvals");
      const unreachable = '[data-unreachable="aws:default@us-east-1"]';
      await app.waitFor(
        "the unreachable connection in the inbox",
        async () => (await app.findAll(unreachable)).length === 1,
        60_000,
      );
      expect(await app.text(unreachable)).toContain("could not be asked");
    } finally {
      serve.kill();
    }
  });
});
