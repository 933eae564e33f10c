// Stopgap until the Qwen3-VL config moves to the field tables of ../config.ts (the other architectures' idiom).
// Reading config.json values the way every architecture's config parser needs: HF's default when a key
// is missing or null, a clear MODEL_CONFIG_INVALID naming the key when a value has the wrong type.
import { fail } from "../../errors.js";

export type Json = Record<string, any>;

/** json[key], or `fallback` when missing/null; the value must have the fallback's type. */
export function configValue<T>(json: Json, key: string, fallback: T, where: string): T {
  const v = json[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== typeof fallback) {
    throw fail(
      "MODEL_CONFIG_INVALID",
      `${where}.${key} should be a ${typeof fallback}, got ${JSON.stringify(v)}`,
    );
  }
  return v as T;
}

/** `value` if it is a positive integer, else MODEL_CONFIG_INVALID naming it. */
export function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw fail("MODEL_CONFIG_INVALID", `${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks that attention heads split `width` evenly (every architecture reshapes to [.., heads, width / heads]). */
export function checkHeadsDivide(width: number, heads: number, widthName: string, headsName: string): void {
  if (width % heads !== 0) {
    throw fail("MODEL_CONFIG_INVALID", `${widthName} ${width} is not divisible by ${headsName} ${heads}`);
  }
}
