// Both seed APIs with the real architectures on the tiny fixture models (real worker processes):
// each caption equals what Hugging Face's `seed` generation produced for that model, stripped.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { build } from "../../src/server/app.js";
import { Runtime } from "../../src/server/runtime.js";
import { readModelConfig, supportedModelTypes } from "../../src/models/index.js";
import { fixturesDir } from "./helpers.js";
import { parsePythonJson } from "../helpers/fixtures.js";

const folders = {
  "vit-gpt2-image-captioning": join(fixturesDir, "vit-gpt2"),
  "blip-image-captioning-large": join(fixturesDir, "blip"),
  "kosmos-2": join(fixturesDir, "kosmos-2"),
  "florence-2": join(fixturesDir, "florence-2"),
};

type Expected = { cases: any[] };
const expected = (dir: string): Expected => parsePythonJson(readFileSync(join(dir, "expected.json"), "utf8"));

/** Why a fixture cannot run yet (its architecture's loader is not registered), else undefined. */
function missingLoader(dir: string): string | undefined {
  const type = String(readModelConfig(dir).model_type);
  return supportedModelTypes().includes(type) ? undefined : `no loader registered for model_type ${type} yet`;
}

/** The `seed` generation's caption of image1 (unconditional / default prompt case). */
function seedCaption(name: keyof typeof folders): string {
  const exp = expected(folders[name]);
  const c = exp.cases.find(
    (x) => x.image === "image1.png" && (x.prompt === undefined || x.prompt === null || name === "kosmos-2"),
  );
  const seed = c.generations.find((g: { name: string }) => g.name === "seed");
  if (name === "kosmos-2") return seed.post_process[0].caption.trim();
  return String(seed.text[0]).trim();
}

let app: FastifyInstance;
let runtime: Runtime;
const image1 = (name: keyof typeof folders) =>
  readFileSync(join(folders[name], "image1.png")).toString("base64");

before(async () => {
  runtime = new Runtime({ models: folders, threads: 1, idleUnloadSeconds: 0 });
  app = await build({ runtime, florenceMaxNewTokens: 20 });
});

after(async () => {
  await app.close();
  await runtime.close();
});

for (const name of ["kosmos-2", "vit-gpt2-image-captioning", "blip-image-captioning-large"] as const) {
  const skip = missingLoader(folders[name]);
  test(`describe API with ${name}: the seed caption`, { skip }, async () => {
    const path =
      name === "kosmos-2"
        ? "/api/v1/vision/describe/kosmos-2/patch14-224"
        : `/api/v1/vision/describe/${name}`;
    const res = await app.inject({ method: "POST", url: path, payload: { image: image1(name), id: "fx-1" } });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.id, "fx-1");
    assert.deepEqual(body.model, { name, version: name === "kosmos-2" ? "patch14-224" : "latest" });
    assert.equal(body.result.caption, seedCaption(name));
    // and by model name on the main endpoint, with a data: URL
    const again = await app.inject({
      method: "POST",
      url: "/api/v1/vision/describe",
      payload: { url: `data:image/png;base64,${image1(name)}`, model: name },
    });
    assert.equal(again.json().result.caption, seedCaption(name));
  });
}

test(
  "Florence API with florence-2: prompts from the model, <CAPTION>, <OD>, <GENERATE_TAGS> as the seed server answers",
  { skip: missingLoader(folders["florence-2"]) },
  async () => {
    assert.equal((await app.inject({ method: "GET", url: "/model" })).json(), "florence-2");
    const prompts = (await app.inject({ method: "GET", url: "/prompts" })).json() as string[];
    for (const p of ["<CAPTION>", "<OD>", "<DETAILED_CAPTION>", "<GENERATE_TAGS>", "<MIXED_CAPTION>"])
      assert.ok(prompts.includes(p), `${p} in ${prompts}`);
    const exp = expected(folders["florence-2"]);
    for (const task of ["<CAPTION>", "<OD>", "<GENERATE_TAGS>"]) {
      const c = exp.cases.find((x) => x.image === "image1.png" && x.task === task);
      const seed = c.generations.find((g: { name: string }) => g.name === "seed");
      const res = await app.inject({
        method: "POST",
        url: "/process_image",
        payload: { image: image1("florence-2"), prompt: task.toLowerCase() },
      });
      assert.equal(res.statusCode, 200, res.body);
      const want = seed.post_process[0][task];
      const got = res.json().result;
      if (typeof want === "string") assert.equal(String(got).trim(), want.trim());
      else assert.deepEqual(got, want);
    }
  },
);
