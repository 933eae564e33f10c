// `sightline caption IMAGE --model <florence-2 folder> --prompt <TASK> --json`: the caption command of
// the CLI on the Florence-2 fixture, compared with the seed run of HF (3 beams) including `result`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { run } from "../../../src/cli/commands/caption.js";
import { FIXTURE, cases } from "./fixture.js";
import { captureStdout } from "../../helpers/stdout.js";

test("caption --prompt <OD> --json prints tokens, text and the structured result", async () => {
  const c = cases.find((x) => x.task === "<OD>")!;
  const seed = c.generations.find((g) => g.name === "seed")!;
  const out = await captureStdout(() =>
    run([
      join(FIXTURE, c.image),
      "--model",
      FIXTURE,
      "--prompt",
      "<OD>",
      "--max-new-tokens",
      "20",
      "--num-beams",
      "3",
      "--json",
      "--threads",
      "1",
    ]),
  );
  const json = JSON.parse(out);
  assert.deepEqual(json.token_ids, seed.sequences[0]);
  assert.equal(json.text, seed.text[0].trim());
  assert.deepEqual(json.result, seed.post_process[0]);
  assert.ok(typeof json.timings.encode === "number");
});

test("caption --prompt <GENERATE_TAGS> (PromptGen task, plain text) prints the caption", async () => {
  const c = cases.find((x) => x.task === "<GENERATE_TAGS>")!;
  const seed = c.generations.find((g) => g.name === "seed")!;
  const out = await captureStdout(() =>
    run([
      join(FIXTURE, c.image),
      "--model",
      FIXTURE,
      "--prompt",
      c.task,
      "--max-new-tokens",
      "20",
      "--threads",
      "1",
    ]),
  );
  assert.equal(out, seed.text[0].trim());
});
