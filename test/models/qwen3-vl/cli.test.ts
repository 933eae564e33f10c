// `sightline caption IMAGE --model <qwen3-vl folder> --prompt P --json [--max-new-tokens] [--num-beams]
// [--suppress-tokens]`: the CLI contract on the Qwen3-VL fixture (and the same model in the layout
// transformers 5 writes), compared with HF generate(do_sample=False): the prompt plus the generated ids,
// and the generated ids decoded with special tokens skipped.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { run } from "../../../src/cli/commands/caption.js";
import { FIXTURE, cases, transformers5Folder } from "./fixture.js";
import { captureStdout } from "../../helpers/stdout.js";

function cliArgs(run: any): string[] {
  const kw = run.kwargs;
  const args = ["--max-new-tokens", String(kw.max_new_tokens), "--num-beams", String(kw.num_beams)];
  if (kw.suppress_tokens) args.push("--suppress-tokens", kw.suppress_tokens.join(","));
  return args;
}

const t5 = transformers5Folder();
after(() => rmSync(t5, { recursive: true, force: true }));

const picks: [number, string, string][] = [
  [0, "greedy", FIXTURE],
  [1, "beam3", FIXTURE],
  [2, "greedy_fixed", FIXTURE],
  [3, "beam3_fixed", FIXTURE],
  [1, "greedy", t5],
  [2, "beam3", t5],
];

for (const [index, name, folder] of picks) {
  const c = cases[index];
  const expected = c.generations.find((g: any) => g.name === name);
  const layout = folder === FIXTURE ? "checkpoint layout" : "transformers 5 layout";
  test(`caption --json, ${c.image} / ${c.prompt_name} / ${name} (${layout}): HF's ids and text`, async () => {
    const out = await captureStdout(() =>
      run([
        join(FIXTURE, c.image),
        "--model",
        folder,
        "--prompt",
        c.prompt_text,
        ...cliArgs(expected),
        "--json",
        "--threads",
        "1",
      ]),
    );
    const json = JSON.parse(out);
    assert.deepEqual(json.token_ids, expected.sequences[0]);
    assert.equal(json.text, expected.text[0].trim());
  });
}

test("--top-k without --sample is refused", async () => {
  await assert.rejects(
    run([join(FIXTURE, "image2.png"), "--model", FIXTURE, "--top-k", "5"]),
    /--top-k needs --sample/,
  );
});

test("--sample with a seed gives the same tokens twice", async () => {
  const args = [
    join(FIXTURE, "image2.png"),
    "--model",
    FIXTURE,
    "--sample",
    "--seed",
    "7",
    "--max-new-tokens",
    "8",
    "--json",
    "--threads",
    "1",
  ];
  const a = JSON.parse(await captureStdout(() => run(args)));
  const b = JSON.parse(await captureStdout(() => run(args)));
  assert.deepEqual(a.token_ids, b.token_ids);
  assert.ok(a.token_ids.length > cases[2].input_ids[0].length);
});
