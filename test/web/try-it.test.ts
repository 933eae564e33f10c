// The try-it page in a real browser: Debian's Chromium (scripts/ci-system-deps.sh installs it),
// driven over the DevTools protocol, against a server on 127.0.0.1 with the vit-gpt2 fixture
// model. The caption the page shows must be Hugging Face's `seed` generation for image1.png.
// Without Chromium the test skips, except under CI=true, where it fails saying so.
import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { build } from "../../src/server/app.js";
import { Runtime } from "../../src/server/runtime.js";
import { findChromium, launchChromium, type Browser, type Page } from "./cdp.js";
import { parsePythonJson } from "../helpers/fixtures.js";

const fixture = fileURLToPath(new URL("../../../shared/fixtures/vit-gpt2/", import.meta.url));
const florenceFixture = fileURLToPath(new URL("../../../shared/fixtures/florence-2/", import.meta.url));
const modelName = "vit-gpt2-image-captioning";
const chromium = findChromium();
const missing = chromium
  ? undefined
  : "Chromium is not installed (apt-get install chromium, or run scripts/ci-system-deps.sh as root; or set CHROMIUM)";
const inCi = process.env.CI === "true";

/** The `seed` generation's text for image1.png (case 0), stripped like the server strips it. */
function seedCaption(): string {
  const c = (parsePythonJson(readFileSync(join(fixture, "expected.json"), "utf8")) as { cases: any[] })
    .cases[0];
  assert.equal(c.image, "image1.png");
  const seed = c.generations.find((g: { name: string }) => g.name === "seed");
  return String(seed.text[0]).trim();
}

let app: FastifyInstance | undefined;
let runtime: Runtime | undefined;
let browser: Browser | undefined;
let base = "";
let keyedApp: FastifyInstance | undefined;
let keyedBase = "";
const apiKey = "try-it-key";

async function listen(server: FastifyInstance): Promise<string> {
  await server.listen({ host: "127.0.0.1", port: 0 });
  const address = server.server.address();
  assert.ok(address && typeof address === "object");
  return `http://127.0.0.1:${address.port}`;
}
const work = mkdtempSync(join(tmpdir(), "sightline-web-test-"));

/** A fresh tab showing the page of the server without a key, once its model list has loaded. */
async function openPage(width: number, height: number, options?: { mobile?: boolean }): Promise<Page> {
  const page = await browser!.newPage(width, height, options);
  await page.send("Page.navigate", { url: `${base}/` });
  await page.waitFor(
    `document.readyState === "complete" && !document.getElementById("model").disabled`,
    "the model list",
  );
  return page;
}

/** Saves what the page shows to a temp file and names it in the test's output. */
async function screenshot(t: TestContext, page: Page, name: string): Promise<void> {
  const shot = join(tmpdir(), `sightline-try-it${name ? `-${name}` : ""}-${process.pid}.png`);
  writeFileSync(shot, await page.screenshot());
  t.diagnostic(`screenshot: ${shot}`);
}

before(async () => {
  if (missing) return;
  runtime = new Runtime({
    models: { [modelName]: fixture, "florence-2": florenceFixture },
    defaultModel: modelName,
    threads: 1,
    idleUnloadSeconds: 0,
  });
  app = await build({ runtime });
  base = await listen(app);
  keyedApp = await build({ runtime, apiKey });
  keyedBase = await listen(keyedApp);
  browser = await launchChromium(chromium!);
});

after(async () => {
  await browser?.close();
  await app?.close();
  await keyedApp?.close();
  await runtime?.close();
  rmSync(work, { recursive: true, force: true });
});

test(
  "try-it page: upload image1.png, caption it, show the fixture's caption",
  { skip: missing && !inCi ? missing : false, timeout: 30_000 },
  async (t) => {
    if (missing) assert.fail(`CI=true but ${missing}`);
    const page = await openPage(1100, 900);
    assert.equal(await page.evaluate(`document.getElementById("model").value`), modelName);
    assert.equal(await page.evaluate(`document.getElementById("task-field").hidden`), true);

    await page.send("DOM.setFileInputFiles", {
      nodeId: await page.nodeId("#file"),
      files: [join(fixture, "image1.png")],
    });
    await page.waitFor(
      `!document.getElementById("caption-button").disabled && document.getElementById("preview-img").complete`,
      "the preview",
    );
    await page.click("#caption-button");
    await page.waitFor(`["done", "error"].includes(document.body.dataset.state)`, "the answer", 20_000);
    const error = await page.evaluate<string>(`document.getElementById("error").textContent`);
    assert.equal(await page.evaluate(`document.body.dataset.state`), "done", error);
    assert.equal(await page.evaluate(`document.getElementById("caption").textContent`), seedCaption());
    const timings = await page.evaluate<string>(`document.getElementById("timings").textContent`);
    assert.match(timings, /Round trip/);
    assert.match(timings, /Decode/);
    // The first request waited for the model to load: shown apart from the queue.
    assert.match(timings, /Model load/);
    assert.match(timings, /Queue/);

    await screenshot(t, page, "");

    // A file that is not an image: the server's {error, code} is shown.
    const bogus = join(work, "not-an-image.png");
    writeFileSync(bogus, "this is text, not a PNG");
    await page.send("DOM.setFileInputFiles", { nodeId: await page.nodeId("#file"), files: [bogus] });
    await page.waitFor(`document.body.dataset.state === "idle"`, "the new file");
    await page.click("#caption-button");
    await page.waitFor(`["done", "error"].includes(document.body.dataset.state)`, "the error", 10_000);
    assert.equal(await page.evaluate(`document.body.dataset.state`), "error");
    assert.match(
      await page.evaluate<string>(`document.getElementById("error").textContent`),
      /IMAGE_INVALID/,
    );
  },
);

test(
  "try-it page: fits a phone-width screen; an image dropped on it is taken",
  { skip: missing && !inCi ? missing : false, timeout: 15_000 },
  async (t) => {
    if (missing) assert.fail(`CI=true but ${missing}`);
    const page = await openPage(375, 740, { mobile: true });
    await page.dropFiles("#drop", [join(fixture, "image1.png")]);
    await page.waitFor(
      `document.getElementById("preview-img").complete && !document.getElementById("preview").hidden`,
      "the preview",
    );
    assert.match(
      await page.evaluate<string>(`document.getElementById("file-name").textContent`),
      /^image1\.png /,
    );
    await page.click("#caption-button");
    await page.waitFor(`document.body.dataset.state === "done"`, "the answer");
    assert.equal(await page.evaluate(`document.getElementById("caption").textContent`), seedCaption());
    assert.equal(await page.evaluate(`document.documentElement.scrollWidth <= window.innerWidth`), true);
    await screenshot(t, page, "phone");
  },
);

test(
  "try-it page: Florence-2 boxes and Kosmos-2 entities are listed and drawn over the preview",
  { skip: missing && !inCi ? missing : false, timeout: 15_000 },
  async (t) => {
    if (missing) assert.fail(`CI=true but ${missing}`);
    const page = await openPage(1100, 900);
    // The fixture models' random weights find no regions: the page gets a canned answer in the
    // caption endpoint's shape (image1.png is 64 × 48).
    const answer = {
      model: { name: "florence-2", version: "latest" },
      text: "a test",
      result: { "<OD>": { bboxes: [[4, 4, 30, 20]], labels: ["car"] } },
      entities: [{ phrase: "a circle", span: [0, 8], boxes: [[0.5, 0.4, 0.95, 0.95]] }],
      image: { width: 64, height: 48 },
      timings: { image: 1, queue: 0, run: 6, preprocess: 1, encode: 2, decode: 3 },
    };
    const stop = await page.intercept("*/api/v1/web/caption*", () => ({
      status: 200,
      contentType: "application/json",
      body: JSON.stringify(answer),
    }));
    await page.send("DOM.setFileInputFiles", {
      nodeId: await page.nodeId("#file"),
      files: [join(fixture, "image1.png")],
    });
    await page.waitFor(`!document.getElementById("caption-button").disabled`, "the preview");
    await page.click("#caption-button");
    await page.waitFor(`document.body.dataset.state === "done"`, "the answer");
    await stop();
    const listed = await page.evaluate<string[]>(
      `[...document.querySelectorAll("#entities li")].map((li) => li.textContent)`,
    );
    assert.deepEqual(listed, ["a circle [32, 19, 61, 46]", "car [4, 4, 30, 20]"]);
    // Canvas pixels (image coordinates × the shown scale): each region's left edge is stroked in
    // its colour, the inside stays clear.
    const pixels = await page.evaluate<Record<string, number[]>>(`(() => {
      const c = document.getElementById("overlay");
      const ctx = c.getContext("2d");
      const s = c.width / 64;
      const px = (x, y) => Array.from(ctx.getImageData(Math.round(x * s), Math.round(y * s), 1, 1).data);
      return { kosmos: px(32, 38), od: px(4, 16), inside: px(20, 14) };
    })()`);
    const [kr, kg, , ka] = pixels.kosmos!;
    assert.ok(ka! > 200 && kr! > 200 && kg! < 80, `Kosmos-2 box edge ${pixels.kosmos}`); // #e6194b
    const [or, og, , oa] = pixels.od!;
    assert.ok(oa! > 200 && og! > 150 && or! < 120, `Florence-2 box edge ${pixels.od}`); // #3cb44b
    await screenshot(t, page, "regions"); // before the last check, to look at when it fails
    assert.equal(pixels.inside![3], 0, `inside a box ${pixels.inside}`);
  },
);

test(
  "try-it page: a Florence-2 model offers its tasks",
  { skip: missing && !inCi ? missing : false, timeout: 20_000 },
  async (t) => {
    if (missing) assert.fail(`CI=true but ${missing}`);
    const page = await openPage(1100, 900);
    await page.evaluate(`(() => {
      const select = document.getElementById("model");
      select.value = "florence-2";
      select.dispatchEvent(new Event("change"));
    })()`);
    await page.waitFor(
      `!document.getElementById("task-field").hidden && !document.getElementById("task").disabled`,
      "the task list",
      15_000,
    );
    const tasks = await page.evaluate<string[]>(
      `[...document.getElementById("task").options].map((o) => o.value)`,
    );
    for (const task of ["<CAPTION>", "<OD>", "<CAPTION_TO_PHRASE_GROUNDING>"])
      assert.ok(tasks.includes(task), task);
    assert.equal(await page.evaluate(`document.getElementById("task").value`), "<CAPTION>");
    assert.equal(await page.evaluate(`document.getElementById("error").hidden`), true);
    await screenshot(t, page, "florence");
  },
);

test(
  "try-it page: a server with --api-key asks for the key, then works with it",
  { skip: missing && !inCi ? missing : false, timeout: 15_000 },
  async () => {
    if (missing) assert.fail(`CI=true but ${missing}`);
    const page = await browser!.newPage(1100, 900);
    await page.send("Page.navigate", { url: `${keyedBase}/` });
    await page.waitFor(`!document.getElementById("error").hidden`, "the missing-key error");
    assert.match(await page.evaluate<string>(`document.getElementById("error").textContent`), /UNAUTHORIZED/);
    assert.equal(await page.evaluate(`document.getElementById("key-box").open`), true);
    await page.click("#api-key");
    await page.send("Input.insertText", { text: apiKey });
    await page.evaluate(`document.getElementById("api-key").blur()`);
    await page.waitFor(`!document.getElementById("model").disabled`, "the model list");
    assert.equal(await page.evaluate(`document.getElementById("error").hidden`), true);
    assert.equal(await page.evaluate(`sessionStorage.getItem("sightline.apiKey")`), apiKey);
  },
);
