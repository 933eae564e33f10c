// How every architecture reads config.json: a table of fields, each a config.json key with the default
// HF's config class writes out and a kind that says what a valid value is. parseFields reads a section
// with its table; a missing or null key gets the default, a value of the wrong kind is
// MODEL_CONFIG_INVALID naming the key.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fail, failWith } from "../errors.js";

export type Json = Record<string, any>;

/** One config.json key: its default (a value, or computed from the fields read before it) and its check. */
export interface Field<T> {
  key: string;
  fallback: T | ((parsed: Record<string, any>) => T);
  /** What a valid value is, for the error message. */
  kind: string;
  /** The value if valid, else undefined. */
  check?(value: unknown): T | undefined;
  /** A nested object's own table. */
  table?: FieldTable;
  /** Attention heads: the table entry (read before) whose width they must split evenly. */
  divides?: string;
}

export type FieldTable = Record<string, Field<any>>;

/** The parsed section: each table entry's name with its value's type. */
export type ConfigOf<T extends FieldTable> = { [K in keyof T]: T[K] extends Field<infer V> ? V : never };

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

function field<T>(kind: string, check: (v: unknown) => T | undefined) {
  return (key: string, fallback: Field<T>["fallback"]): Field<T> => ({ key, fallback, check, kind });
}

function listOf<T>(item: (v: unknown) => v is T) {
  return (v: unknown): T[] | undefined => (Array.isArray(v) && v.every(item) ? v : undefined);
}

/** Field kinds. */
export const f = {
  /** A positive integer: widths, depths, sizes. */
  size: field<number>("a positive integer", (v) => (isInt(v) && v > 0 ? v : undefined)),
  /** Attention heads, which must split the table's `width` entry evenly (every attention reshapes to [.., heads, width / heads]). */
  heads(key: string, fallback: number, width: string): Field<number> {
    return { ...f.size(key, fallback), divides: width };
  },
  /** Any integer: token ids. */
  int: field<number>("an integer", (v) => (isInt(v) ? v : undefined)),
  /** An integer, or null where HF's default is None. */
  optionalInt: field<number | null>("an integer or null", (v) => (isInt(v) ? v : undefined)),
  number: field<number>("a number", (v) => (typeof v === "number" && Number.isFinite(v) ? v : undefined)),
  string: field<string>("a string", (v) => (typeof v === "string" ? v : undefined)),
  boolean: field<boolean>("a boolean", (v) => (typeof v === "boolean" ? v : undefined)),
  ints: field<number[]>("a list of integers", listOf(isInt)),
  booleans: field<boolean[]>(
    "a list of booleans",
    listOf((v): v is boolean => typeof v === "boolean"),
  ),
  strings: field<string[]>(
    "a list of strings",
    listOf((v): v is string => typeof v === "string"),
  ),
  /** A token id or a list of them (HF's eos_token_id), or null where HF's default is None. */
  tokenIds: field<number | number[] | null>("an integer or a list of integers", (v) =>
    isInt(v) ? v : listOf(isInt)(v),
  ),
  /** A nested object read with its own table (missing: every default). */
  object<T extends FieldTable>(key: string, table: T): Field<ConfigOf<T>> {
    return { key, fallback: () => parseFields({}, table, key), kind: "an object", table };
  },
};

/** Reads `json`, the section `where` of config.json (e.g. "text_config"), with `table`. */
export function parseFields<T extends FieldTable>(json: Json, table: T, where: string): ConfigOf<T> {
  const out: Record<string, any> = {};
  for (const [name, spec] of Object.entries(table)) {
    const raw = json[spec.key];
    const path = `${where}.${spec.key}`;
    let value: unknown;
    if (raw === undefined || raw === null) {
      value = typeof spec.fallback === "function" ? spec.fallback(out) : spec.fallback;
    } else if (spec.table) {
      value = parseFields(section(json, spec.key, where), spec.table, path);
    } else {
      value = spec.check?.(raw);
      if (value === undefined)
        throw fail("MODEL_CONFIG_INVALID", `${path} should be ${spec.kind}, got ${JSON.stringify(raw)}`);
    }
    out[name] = value;
    if (spec.divides && out[spec.divides] % (value as number) !== 0) {
      const width = `${where}.${table[spec.divides].key} ${out[spec.divides]}`;
      throw fail("MODEL_CONFIG_INVALID", `${width} is not divisible by ${spec.key} ${value}`);
    }
  }
  return out as ConfigOf<T>;
}

/** The table's config.json keys with their defaults (what HF's config class writes for an empty section). */
export function fieldDefaults(table: FieldTable): Json {
  const parsed = parseFields({}, table, "");
  return Object.fromEntries(Object.entries(table).map(([name, spec]) => [spec.key, parsed[name]]));
}

/** json[key] as an object section ({} when missing); MODEL_CONFIG_INVALID naming it otherwise. */
export function section(json: Json, key: string, where?: string): Json {
  const v = json[key];
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) {
    const path = where ? `${where}.${key}` : key;
    throw fail("MODEL_CONFIG_INVALID", `${path} should be an object, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** A JSON file of the model folder (generation_config.json, processor_config.json), if it has one. */
export function readOptionalJson(folder: string, file: string): Json | undefined {
  const path = join(folder, file);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw failWith(e, "MODEL_CONFIG_INVALID", `${path}: ${(e as Error).message}`);
  }
}
