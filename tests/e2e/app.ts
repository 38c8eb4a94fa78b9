// What a scenario needs to use the app as a person would: open the real window through
// tauri-driver, find things by what they show, click, type, drag, wait for the app to catch up,
// and keep screenshots of what the window looked like.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { Builder, By, Origin, until, type WebDriver, type WebElement } from "selenium-webdriver";

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the suite with tests/e2e/run.sh`);
  return value;
}

/** How long the app may take to show what a step expects. */
const PATIENCE_MS = 30_000;

export class App {
  private constructor(readonly driver: WebDriver) {}

  static async open(): Promise<App> {
    const capabilities = {
      browserName: "wry",
      "tauri:options": { application: env("PIPEWRIGHT_APP") },
    };
    const driver = await new Builder()
      .usingServer(env("PIPEWRIGHT_DRIVER_URL"))
      .withCapabilities(capabilities)
      .build();
    await driver.wait(
      async () => (await driver.executeScript("return document.readyState")) === "complete",
      PATIENCE_MS,
    );
    const app = new App(driver);
    await app.find(".sidebar");
    return app;
  }

  async close() {
    await this.driver.quit();
  }

  async find(css: string): Promise<WebElement> {
    return this.driver.wait(until.elementLocated(By.css(css)), PATIENCE_MS, `nothing matches ${css}`);
  }

  async findAll(css: string): Promise<WebElement[]> {
    return this.driver.findElements(By.css(css));
  }

  /** A button (or link-styled button) by the text it shows. */
  async button(text: string, within = ""): Promise<WebElement> {
    const xpath = `//button[normalize-space(.)=${quote(text)}]`;
    const scope = within ? await this.find(within) : this.driver;
    return this.driver.wait(
      async () => (await scope.findElements(By.xpath(within ? `.${xpath}` : xpath)))[0] ?? null,
      PATIENCE_MS,
      `no button says "${text}"${within ? ` in ${within}` : ""}`,
    ) as Promise<WebElement>;
  }

  async click(css: string) {
    await this.reveal(await this.find(css)).then((element) => element.click());
  }

  /**
   * Scrolls an element into the middle of its scrolling panels. WebKitWebDriver scrolls only the
   * page before a click, not a panel that scrolls inside it (the designer's inspector), so an
   * element below a panel's fold would not be clickable.
   */
  async reveal(element: WebElement): Promise<WebElement> {
    await this.driver.executeScript("arguments[0].scrollIntoView({ block: 'center', inline: 'nearest' })", element);
    return element;
  }

  async press(text: string, within = "") {
    await (await this.reveal(await this.button(text, within))).click();
  }

  async view(name: "pipelines" | "designer" | "monitor" | "approvals" | "settings") {
    await this.click(`.sidebar [data-view="${name}"]`);
  }

  /** Replaces what a text field holds, as a person selecting all and typing would. */
  async type(css: string, text: string) {
    const field = await this.reveal(await this.find(css));
    await field.click();
    await this.driver.executeScript(
      // React tracks the value it last set; going through the native setter makes the change
      // an input event React sees, as typing does.
      `const [el, value] = arguments;
       const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
       Object.getOwnPropertyDescriptor(proto, "value").set.call(el, value);
       el.dispatchEvent(new Event("input", { bubbles: true }));`,
      field,
      text,
    );
  }

  /** Chooses an option of a select, as a person picking it would (React sees a change event). */
  async choose(css: string, value: string) {
    const select = await this.reveal(await this.find(css));
    await this.driver.executeScript(
      `const [el, value] = arguments;
       Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, "value").set.call(el, value);
       el.dispatchEvent(new Event("change", { bubbles: true }));`,
      select,
      value,
    );
  }

  /**
   * Drags one element onto another with the pointer: press, move a little (a drag starts after
   * a few pixels), move over the target in steps, release.
   */
  async drag(sourceCss: string, targetCss: string, overTarget?: () => Promise<void>) {
    const source = await this.find(sourceCss);
    const target = await this.find(targetCss);
    await this.driver.executeScript("arguments[0].scrollIntoView({block: 'center'})", target);
    await this.driver
      .actions({ async: true })
      .move({ origin: source })
      .press()
      .move({ origin: Origin.POINTER, x: 8, y: 8, duration: 100 })
      .move({ origin: target, duration: 250 })
      .move({ origin: Origin.POINTER, x: 1, y: 1, duration: 100 })
      .pause(100)
      .perform();
    // The button stays down between the two performs: `overTarget` sees the drag over the target.
    await overTarget?.();
    await this.driver.actions({ async: true }).release().perform();
    await this.driver.sleep(150);
  }

  /** Waits until `check` says yes; the message says what was awaited when it never does. */
  async waitFor(what: string, check: () => Promise<boolean>, timeout = PATIENCE_MS) {
    await this.driver.wait(async () => {
      try {
        return await check();
      } catch {
        return false;
      }
    }, timeout, `timed out waiting for ${what}`);
  }

  async text(css: string): Promise<string> {
    return (await this.find(css)).getText();
  }

  async attribute(css: string, name: string): Promise<string | null> {
    return (await this.find(css)).getAttribute(name);
  }

  async screenshot(name: string) {
    // After the page's next two frames: what was just typed or loaded is painted, not a frame
    // behind.
    await this.driver.executeAsyncScript(
      "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(done));",
    );
    const png = await this.driver.takeScreenshot();
    writeFileSync(join(env("PIPEWRIGHT_SCREENSHOTS"), `${name}.png`), png, "base64");
  }
}

/** Runs the `pipewright` CLI on the same data directory as the app; returns its stdout. */
export function cli(...args: string[]): string {
  return execFileSync(env("PIPEWRIGHT_CLI"), args, { encoding: "utf8" });
}

function quote(text: string): string {
  return text.includes('"') ? `'${text}'` : `"${text}"`;
}

/** The notification server (dunst) the app talks to, as a test sees it. */
export const notifications = {
  /** How many notifications are on screen. */
  displayed(): number {
    return Number(execFileSync("dunstctl", ["count", "displayed"], { encoding: "utf8" }).trim());
  },

  closeAll() {
    execFileSync("dunstctl", ["close-all"]);
  },

  /** The closed notifications, newest first, as dunst keeps them. */
  history(): { summary: string; body: string }[] {
    const out = JSON.parse(execFileSync("dunstctl", ["history"], { encoding: "utf8" }));
    return (out.data[0] as Record<string, { data: string }>[]).map((n) => ({
      summary: n.summary!.data,
      body: n.body!.data,
    }));
  },

  /**
   * Presses the action `action` (its identifier, such as `approve`) of a displayed notification,
   * through dunst's context menu as a person would; returns the menu lines dunst offered.
   */
  async press(action: string): Promise<string> {
    const work = env("PIPEWRIGHT_E2E_WORK");
    const offered = join(work, "offered");
    rmSync(offered, { force: true });
    writeFileSync(join(work, "want"), action);
    // dunst opens its menu in the background; the menu program writes what it was offered.
    execFileSync("dunstctl", ["context"]);
    for (let waited = 0; !existsSync(offered) && waited < 10_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return readFileSync(offered, "utf8");
  },

  /** Invokes the default action (Open) of the newest displayed notification. */
  open() {
    execFileSync("dunstctl", ["action", "0"]);
  },
};
