// A stand-in model for server and queue tests, loaded by the real worker process through the
// same path as real architectures (the worker imports this module instead of src/models).
// Its folder's config.json can set: load_delay_ms, caption_delay_ms, task_prompts, fail_load,
// load_gate (a file path: loading finishes only once that file exists), and caption_gate (a folder:
// each caption writes "started-<n>" there, n counting from 1, then waits until a file "open" exists,
// so a test can hold requests running and queued as long as it needs), echo_options (the caption ends
// with the system message, sampling and pixel cap it was given).
// Prompts steer it: "<CRASH>" ends the process, "<SLEEP:ms>" waits without looking at the
// cancel signal (a hung model), "<STEPS:n:ms>" runs n "decoder steps" of ms each, "<FAIL>" throws.
// Like the real decoders it honours CaptionOptions.signal between its steps (caption_delay_ms is
// slept in steps too, and a caption held at the gate looks at it while it waits) and throws
// REQUEST_CANCELLED. It appends what it does to <folder>/steps.log ("start #seq", "step #seq k",
// "cancelled #seq k", "done #seq") so tests can wait for a state.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fail } from "../../src/errors.js";
import type { CaptionModel, CaptionOptions, LoadOptions, RgbImage } from "../../src/models/types.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function loadModel(folder: string, options: LoadOptions = {}): Promise<CaptionModel> {
  const config = JSON.parse(readFileSync(join(folder, "config.json"), "utf8"));
  // What the worker was asked to load with (quantize, threads), for tests to read.
  writeFileSync(join(folder, "load-options.json"), JSON.stringify(options));
  if (config.fail_load) throw Object.assign(new Error("fake load failure"), { name: "Error" });
  await sleep(config.load_delay_ms ?? 0);
  while (config.load_gate && !existsSync(config.load_gate)) await sleep(20);
  let seq = 0;
  const taskPrompts: Record<string, string> | undefined = config.task_prompts;
  const log = (line: string) => appendFileSync(join(folder, "steps.log"), line + "\n");

  /** `steps` steps of `stepMs`, stopping between two when the signal is aborted. */
  async function steps(run: number, count: number, stepMs: number, signal?: AbortSignal, verbose = false) {
    for (let k = 0; k < count; k++) {
      if (signal?.aborted) {
        log(`cancelled #${run} ${k}`);
        throw fail("REQUEST_CANCELLED", String(signal.reason));
      }
      await sleep(stepMs);
      if (verbose) log(`step #${run} ${k + 1}`);
    }
  }

  return {
    arch: config.model_type ?? "fake",
    folder,
    async caption(image: RgbImage, options: CaptionOptions = {}) {
      const prompt = options.prompt ?? "";
      if (prompt === "<CRASH>") process.exit(3);
      if (prompt === "<FAIL>") throw new Error("fake caption failure");
      seq += 1;
      const run = seq;
      log(`start #${run}`);
      if (config.caption_gate) {
        writeFileSync(join(config.caption_gate, `started-${run}`), "");
        while (!existsSync(join(config.caption_gate, "open"))) {
          if (options.signal?.aborted) {
            log(`cancelled #${run} 0`);
            throw fail("REQUEST_CANCELLED", String(options.signal.reason));
          }
          await sleep(5);
        }
      }
      const sleepFor = /^<SLEEP:(\d+)>$/.exec(prompt);
      const stepped = /^<STEPS:(\d+):(\d+)>$/.exec(prompt);
      if (sleepFor) await sleep(Number(sleepFor[1]));
      else if (stepped) await steps(run, Number(stepped[1]), Number(stepped[2]), options.signal, true);
      else {
        const delay = config.caption_delay_ms ?? 0;
        await steps(run, Math.ceil(delay / 10), delay === 0 ? 0 : 10, options.signal);
      }
      log(`done #${run}`);
      const [r, g, b] = image.data;
      let text = `fake ${image.width}x${image.height} rgb(${r},${g},${b}) #${run} pid ${process.pid}${prompt ? " " + prompt : ""}`;
      // echo_options: the options an instruction-following model gets, for the dialects' tests.
      if (config.echo_options) {
        const { system, sample, maxPixels } = options;
        text += ` options=${JSON.stringify({ system, sample, maxPixels })}`;
      }
      return {
        text,
        tokenIds: [run],
        timings: { preprocess: 0, encode: 0, decode: 0 },
        ...(taskPrompts ? { result: { [prompt || "<CAPTION>"]: text } } : {}),
      };
    },
    taskPrompts: taskPrompts ? () => taskPrompts : undefined,
    async dispose() {},
  };
}
