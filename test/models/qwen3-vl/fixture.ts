// The qwen3-vl fixture (../shared/fixtures/qwen3-vl), and the same model folder rewritten into the
// layout transformers 5 saves (what the held-back twin uses): config.json with rope_parameters and a
// "qwen3_vl_vision" vision model_type, processor_config.json with nested processors, and
// chat_template.jinja instead of chat_template.json / tokenizer_config.json's chat_template.
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixtureBin, fixtureDir, readExpected } from "../../helpers/fixtures.js";

export const FIXTURE = fixtureDir("qwen3-vl");
export const expected = readExpected("qwen3-vl");
export const cases: any[] = expected.cases;
export const readBin = (file: string): Float32Array => fixtureBin("qwen3-vl", file);
export const fixtureJson = (file: string): Record<string, any> =>
  JSON.parse(readFileSync(join(FIXTURE, file), "utf8"));

/** The cases with vision outputs (one per image). */
export const visionCases = cases.filter((c) => c.vision_image_embeds);

/** config.json as transformers 5.12 saves it. */
export function transformers5Config(): Record<string, any> {
  const config = fixtureJson("config.json");
  const { rope_scaling: ropeScaling, rope_theta: ropeTheta, ...text } = config.text_config;
  return {
    ...config,
    dtype: "bfloat16",
    transformers_version: "5.12.1",
    text_config: { ...text, rope_parameters: { ...ropeScaling, rope_theta: ropeTheta } },
    vision_config: { ...config.vision_config, model_type: "qwen3_vl_vision" },
  };
}

/** processor_config.json as transformers 5.12 saves it: the image and video processors nested. */
export function transformers5ProcessorConfig(): Record<string, any> {
  const image = fixtureJson("preprocessor_config.json");
  const video = fixtureJson("video_preprocessor_config.json");
  delete image.processor_class;
  delete video.processor_class;
  return {
    image_processor: {
      ...image,
      image_processor_type: "Qwen2VLImageProcessor",
      do_convert_rgb: true,
      do_normalize: true,
      do_rescale: true,
      do_resize: true,
      rescale_factor: 1 / 255,
      resample: 3,
    },
    video_processor: video,
    processor_class: "Qwen3VLProcessor",
  };
}

/** A temp folder holding the fixture model in the transformers 5 layout (big files linked). */
export function transformers5Folder(): string {
  const dir = mkdtempSync(join(tmpdir(), "qwen3-vl-t5-"));
  const write = (file: string, json: unknown) =>
    writeFileSync(join(dir, file), JSON.stringify(json, null, 2) + "\n");
  write("config.json", transformers5Config());
  write("processor_config.json", transformers5ProcessorConfig());
  const { chat_template: template, ...tokenizerConfig } = fixtureJson("tokenizer_config.json");
  writeFileSync(join(dir, "chat_template.jinja"), template);
  write("tokenizer_config.json", tokenizerConfig);
  write("generation_config.json", fixtureJson("generation_config.json"));
  for (const file of ["tokenizer.json", "model.safetensors", "image1.jpg", "image2.png"]) {
    symlinkSync(join(FIXTURE, file), join(dir, file));
  }
  return dir;
}
