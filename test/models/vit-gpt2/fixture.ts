// Shared helpers for the ViT-GPT2 fixture tests: paths and the .bin arrays of ../shared/fixtures/vit-gpt2.
import { fileURLToPath } from "node:url";
import { fixtureBin, maxAbsDiff, readExpected } from "../../helpers/fixtures.js";

export const FIXTURE = fileURLToPath(new URL("../../../../shared/fixtures/vit-gpt2/", import.meta.url));

export const expected: Record<string, any> = readExpected("vit-gpt2");

/** A float32 .bin of the fixture. */
export const readBin = (file: string): Float32Array => fixtureBin("vit-gpt2", file);

export { maxAbsDiff };
