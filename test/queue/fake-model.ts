// A stand-in model for server and queue tests, loaded by the real worker process through the
// same path as real architectures (the worker imports this module instead of src/models).
// Its folder's config.json can set: load_delay_ms, caption_delay_ms, task_prompts, fail_load,
// load_gate (a file path: loading finishes only once that file exists), and caption_gate (a folder:
// each caption writes "started-<n>" there, n counting from 1, then waits until a file "open" exists,
// so a test can hold requests running and queued as long as it needs).
// Prompts steer it: "<CRASH>" ends the process, "<SLEEP:ms>" waits, "<FAIL>" throws.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CaptionModel, CaptionOptions, RgbImage } from "../../src/models/types.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function loadModel(folder: string): Promise<CaptionModel> {
  const config = JSON.parse(readFileSync(join(folder, "config.json"), "utf8"));
  if (config.fail_load) throw Object.assign(new Error("fake load failure"), { name: "Error" });
  await sleep(config.load_delay_ms ?? 0);
  while (config.load_gate && !existsSync(config.load_gate)) await sleep(20);
  let seq = 0;
  const taskPrompts: Record<string, string> | undefined = config.task_prompts;
  return {
    arch: config.model_type ?? "fake",
    folder,
    async caption(image: RgbImage, options: CaptionOptions = {}) {
      const prompt = options.prompt ?? "";
      if (prompt === "<CRASH>") process.exit(3);
      if (prompt === "<FAIL>") throw new Error("fake caption failure");
      const m = /^<SLEEP:(\d+)>$/.exec(prompt);
      await sleep(m ? Number(m[1]) : (config.caption_delay_ms ?? 0));
      seq += 1;
      if (config.caption_gate) {
        writeFileSync(join(config.caption_gate, `started-${seq}`), "");
        while (!existsSync(join(config.caption_gate, "open"))) await sleep(5);
      }
      const [r, g, b] = image.data;
      const text = `fake ${image.width}x${image.height} rgb(${r},${g},${b}) #${seq} pid ${process.pid}${prompt ? " " + prompt : ""}`;
      return {
        text,
        tokenIds: [seq],
        timings: { preprocess: 0, encode: 0, decode: 0 },
        ...(taskPrompts ? { result: { [prompt || "<CAPTION>"]: text } } : {}),
      };
    },
    taskPrompts: taskPrompts ? () => taskPrompts : undefined,
    async dispose() {},
  };
}
