// The restricted PyTorch checkpoint reader (src/graph/pickle): the real checkpoints of
// ../shared/fixtures/pickle read bit-identically to their safetensors twins, and crafted pickles —
// hostile or broken — are refused with a catalogue error before anything runs or is allocated.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readTorchCheckpoint } from "../../src/graph/pickle/torch-checkpoint.js";
import { MAX_MARK_DEPTH, MAX_PUSHES } from "../../src/graph/pickle/unpickler.js";
import { WeightStore } from "../../src/graph/safetensors.js";
import { Graph } from "../../src/graph/graph.js";
import { VarBuilder } from "../../src/graph/var-builder.js";
import { linear } from "../../src/graph/nn.js";
import { createSession, float32Tensor } from "../../src/graph/session.js";
import { checkWeightsAllowed } from "../../src/graph/weight-files.js";
import { isSightlineError } from "../../src/errors.js";
import { fixtureDir } from "../helpers/fixtures.js";
import {
  PickleWriter,
  stateDictPickle,
  tensorBytes,
  writeTorchCheckpoint,
  writeTorchZip,
  type PickledTensor,
} from "../helpers/torch-writer.js";

const CANARY = "/tmp/sightline-evil-pickle-ran";

function withDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "sl-pickle-"));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Asserts `fn` throws the catalogue error `code` whose message matches `pattern`. */
function refuses(fn: () => unknown, code: string, pattern?: RegExp): void {
  assert.throws(fn, (e) => {
    assert.ok(isSightlineError(e), `expected a SightlineError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    assert.doesNotMatch(e.message, /\n/, "one line");
    return true;
  });
}

/** A zip checkpoint whose data.pkl is `pickle` and whose storages are `storages` (key → bytes). */
function zipWith(dir: string, pickle: Uint8Array, storages: Record<string, Uint8Array> = {}): string {
  const path = join(dir, "pytorch_model.bin");
  writeTorchZip(
    path,
    pickle,
    Object.entries(storages).map(([key, bytes]) => ({ key, size: bytes.length, bytes })),
  );
  return path;
}

const f32 = (values: number[]) => tensorBytes("F32", values);
const tensor = (over: Partial<PickledTensor>): PickledTensor => ({
  name: "w",
  storage: "0",
  dtype: "F32",
  storageNumel: 6,
  shape: [2, 3],
  ...over,
});

// ---- the real checkpoints

for (const [bin, twin, format] of [
  ["vit-gpt2-bin", "vit-gpt2", "zip"],
  ["blip-bin", "blip", "legacy"],
  ["florence-2-bin", "florence-2", "zip"],
] as const) {
  test(`pickle/${bin} (${format}) holds exactly the tensors of ${twin}/model.safetensors`, () => {
    const pickled = WeightStore.open(join(fixtureDir("pickle"), bin));
    const safe = WeightStore.open(fixtureDir(twin));
    for (const name of safe.names()) {
      assert.ok(pickled.has(name), name);
      const a = pickled.info(name);
      const b = safe.info(name);
      assert.deepEqual([a.dtype, a.shape], [b.dtype, b.shape], name);
      assert.ok(pickled.readBytes(a).equals(safe.readBytes(b)), `${name}: bytes differ`);
    }
    // Only tied aliases come extra (save_pretrained drops them from safetensors, not from pickles).
    const extra = pickled.names().filter((n) => !safe.has(n));
    assert.ok(
      extra.every((n) => /lm_head|embed_tokens|decoder\.bias/.test(n)),
      extra.join(", "),
    );
    const first = readdirFormat(join(fixtureDir("pickle"), bin));
    assert.equal(first, format);
  });
}

function readdirFormat(folder: string): string {
  const single = join(folder, "pytorch_model.bin");
  const file = existsSync(single) ? single : join(folder, "pytorch_model-00001-of-00004.bin");
  return readTorchCheckpoint(file).format;
}

test("tied weights are one storage: lm_head points at the bytes of wte", () => {
  const store = WeightStore.open(join(fixtureDir("pickle"), "vit-gpt2-bin"));
  const head = store.info("decoder.lm_head.weight");
  const wte = store.info("decoder.transformer.wte.weight");
  assert.deepEqual([head.file, head.byteOffset, head.byteLength], [wte.file, wte.byteOffset, wte.byteLength]);
});

test("sharded checkpoints: every shard of pytorch_model.bin.index.json is read, data folder is one", () => {
  const folder = join(fixtureDir("pickle"), "florence-2-bin");
  const store = WeightStore.open(folder);
  const index = JSON.parse(readFileSync(join(folder, "pytorch_model.bin.index.json"), "utf8"));
  for (const name of Object.keys(index.weight_map)) assert.ok(store.has(name), name);
  assert.equal(new Set(store.names().map((n) => store.info(n).file)).size, 4);
  assert.ok(store.dataFolder().endsWith("florence-2-bin"));
});

test("evil-bin: the os.system pickle is refused naming the global, and runs nothing", () => {
  rmSync(CANARY, { force: true });
  const folder = join(fixtureDir("pickle"), "evil-bin");
  refuses(() => WeightStore.open(folder), "MODEL_WEIGHTS_UNSAFE", /imports posix\.system/);
  refuses(
    () => readTorchCheckpoint(join(folder, "pytorch_model.bin")),
    "MODEL_WEIGHTS_UNSAFE",
    /pytorch_model\.bin: its pickle imports posix\.system.*nothing in it was run/,
  );
  assert.equal(existsSync(CANARY), false);
});

test("--safetensors-only refuses a folder with only pickles, not one with safetensors", () => {
  refuses(
    () => checkWeightsAllowed(join(fixtureDir("pickle"), "blip-bin"), { safetensorsOnly: true }),
    "MODEL_WEIGHTS_PICKLE_ONLY",
    /pytorch_model\.bin.*--safetensors-only/,
  );
  checkWeightsAllowed(join(fixtureDir("pickle"), "blip-bin"), { safetensorsOnly: false });
  checkWeightsAllowed(fixtureDir("blip"), { safetensorsOnly: true });
});

// ---- what a checkpoint may hold: formats, views, dtypes, in place through ONNX Runtime

for (const format of ["zip", "legacy"] as const) {
  test(`${format}: weights are read in place by ONNX Runtime (linear from a .bin)`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "sl-pickle-"));
    try {
      writeTorchCheckpoint(
        join(dir, "pytorch_model.bin"),
        {
          "fc.weight": { dtype: "F32", shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
          "fc.bias": { dtype: "BF16", shape: [2], data: [0.5, -1] },
          steps: { dtype: "I64", shape: [], data: [7] },
        },
        { format },
      );
      const store = WeightStore.open(dir);
      assert.deepEqual(Array.from(store.readFloat32("fc.bias")), [0.5, -1]);
      assert.deepEqual(Array.from(store.readFloat32("steps")), [7]);
      const g = new Graph("t");
      const x = g.input("x", "float32", ["b", 3]);
      g.output(linear(g, x, new VarBuilder(g, store).pp("fc")), "y");
      const s = await createSession(g, store, { threads: 1 });
      const out = await s.run({ x: float32Tensor(new Float32Array([1, 1, 1]), [1, 3]) });
      assert.deepEqual(Array.from(out.y!.data as Float32Array), [6.5, 14]);
      await s.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("views: two tensors slicing one storage at element offsets, in any archive folder name", () =>
  withDir((dir) => {
    const pickle = stateDictPickle([
      tensor({ name: "first", storageNumel: 6, shape: [2], offset: 0 }),
      tensor({ name: "rest", storageNumel: 6, shape: [2, 2], offset: 2 }),
    ]);
    const path = join(dir, "pytorch_model.bin");
    writeTorchZip(path, pickle, [{ key: "0", size: 24, bytes: f32([1, 2, 3, 4, 5, 6]) }], {
      archive: "my_model",
    });
    const { tensors } = readTorchCheckpoint(path);
    const byName = Object.fromEntries(tensors.map((t) => [t.name, t]));
    assert.equal(byName.rest!.byteOffset - byName.first!.byteOffset, 8);
    const bytes = readFileSync(path).subarray(byName.rest!.byteOffset, byName.rest!.byteOffset + 16);
    assert.deepEqual(
      Array.from(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 16))),
      [3, 4, 5, 6],
    );
  }));

test("ZIP64 archives (what torch writes past 4 GB) are read through their 64-bit records", () =>
  withDir((dir) => {
    const path = join(dir, "pytorch_model.bin");
    writeTorchCheckpoint(
      path,
      { w: { dtype: "F32", shape: [2, 3], data: [1, 2, 3, 4, 5, 6] } },
      { zip64: true },
    );
    const bytes = readFileSync(path);
    assert.equal(
      bytes.readUInt32LE(bytes.length - 22 + 16),
      0xffffffff,
      "the classic record defers to ZIP64",
    );
    const [w] = readTorchCheckpoint(path).tensors;
    const data = bytes.subarray(w!.byteOffset, w!.byteOffset + w!.byteLength);
    assert.deepEqual(
      Array.from(new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + 24))),
      [1, 2, 3, 4, 5, 6],
    );
  }));

test("protocol 4 opcodes (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL) and _rebuild_parameter", () =>
  withDir((dir) => {
    const short = (s: string) => [0x8c, s.length, ...Buffer.from(s)];
    const p = new PickleWriter()
      .proto(4)
      .raw(0x95, ...new Array(8).fill(0)) // FRAME (length is only a hint)
      .emptyDict()
      .raw(0x94) // MEMOIZE
      .raw(...short("w"))
      .raw(...short("torch._utils"), ...short("_rebuild_parameter"), 0x93) // STACK_GLOBAL
      .raw(...short("torch._utils"), ...short("_rebuild_tensor_v2"), 0x93)
      .mark()
      .mark()
      .str("storage")
      .raw(...short("torch"), ...short("FloatStorage"), 0x93)
      .str("0")
      .str("cpu")
      .int(6)
      .tuple()
      .persid()
      .int(0)
      .ints([2, 3])
      .ints([3, 1])
      .bool(false)
      .raw(...short("collections"), ...short("OrderedDict"), 0x93)
      .emptyTuple()
      .reduce()
      .tuple()
      .reduce()
      .bool(true)
      .raw(...short("collections"), ...short("OrderedDict"), 0x93)
      .emptyTuple()
      .reduce()
      .raw(0x87) // TUPLE3: (tensor, requires_grad, hooks)
      .reduce()
      .setitem()
      .stop()
      .finish();
    const { tensors } = readTorchCheckpoint(zipWith(dir, p, { "0": f32([1, 2, 3, 4, 5, 6]) }));
    assert.deepEqual(
      tensors.map((t) => [t.name, t.dtype, t.shape, t.byteLength]),
      [["w", "F32", [2, 3], 24]],
    );
  }));

// ---- hostile pickles: refused at the opcode that asks for code, naming what it asked for

test("an unknown global is refused by name (GLOBAL and STACK_GLOBAL)", () =>
  withDir((dir) => {
    const viaGlobal = new PickleWriter().proto(2).global("subprocess", "Popen").stop().finish();
    refuses(
      () => readTorchCheckpoint(zipWith(dir, viaGlobal)),
      "MODEL_WEIGHTS_UNSAFE",
      /imports subprocess\.Popen/,
    );
    const viaStack = new PickleWriter().proto(4).str("os").str("system").raw(0x93).stop().finish();
    refuses(() => readTorchCheckpoint(zipWith(dir, viaStack)), "MODEL_WEIGHTS_UNSAFE", /imports os\.system/);
    // A torch-looking name that is not on the allow-list.
    const torchLoad = new PickleWriter().proto(2).global("torch", "load").stop().finish();
    refuses(
      () => readTorchCheckpoint(zipWith(dir, torchLoad)),
      "MODEL_WEIGHTS_UNSAFE",
      /imports torch\.load/,
    );
  }));

test("a REDUCE of a builtin is refused (Python 2 module names are mapped first)", () =>
  withDir((dir) => {
    const evalCall = new PickleWriter()
      .proto(2)
      .global("__builtin__", "eval")
      .str("__import__('os').system('touch /tmp/sightline-evil-pickle-ran')")
      .tuple1()
      .reduce()
      .stop()
      .finish();
    refuses(
      () => readTorchCheckpoint(zipWith(dir, evalCall)),
      "MODEL_WEIGHTS_UNSAFE",
      /imports builtins\.eval/,
    );
    const getattr = new PickleWriter().proto(2).global("builtins", "getattr").stop().finish();
    refuses(() => readTorchCheckpoint(zipWith(dir, getattr)), "MODEL_WEIGHTS_UNSAFE", /builtins\.getattr/);
    // Allowed as a value, but not a function: torch.FloatStorage("…") is not a call we make.
    const storageCall = new PickleWriter()
      .proto(2)
      .global("torch", "FloatStorage")
      .str("x")
      .tuple1()
      .reduce()
      .stop()
      .finish();
    refuses(
      () => readTorchCheckpoint(zipWith(dir, storageCall)),
      "CHECKPOINT_INVALID",
      /torch\.FloatStorage/,
    );
    // REDUCE on something that is not a global at all.
    const strCall = new PickleWriter().proto(2).str("os.system").emptyTuple().reduce().stop().finish();
    refuses(() => readTorchCheckpoint(zipWith(dir, strCall)), "MODEL_WEIGHTS_UNSAFE", /REDUCE on a str/);
    assert.equal(existsSync(CANARY), false);
  }));

test("BUILD, NEWOBJ, INST and persistent ids other than storages are refused", () =>
  withDir((dir) => {
    const build = new PickleWriter().proto(2).str("x").emptyDict().build().stop().finish();
    refuses(() => readTorchCheckpoint(zipWith(dir, build)), "MODEL_WEIGHTS_UNSAFE", /BUILD on a str/);
    const newobj = new PickleWriter().proto(2).str("x").emptyTuple().raw(0x81).stop().finish();
    refuses(() => readTorchCheckpoint(zipWith(dir, newobj)), "MODEL_WEIGHTS_UNSAFE", /NEWOBJ on a str/);
    const inst = new PickleWriter()
      .proto(2)
      .mark()
      .raw(0x69)
      .bytes(Buffer.from("os\nsystem\n"))
      .stop()
      .finish();
    refuses(() => readTorchCheckpoint(zipWith(dir, inst)), "MODEL_WEIGHTS_UNSAFE", /opcode 0x69/);
    const pid = new PickleWriter().proto(2).str("module").str("x").raw(0x86).persid().stop().finish();
    refuses(() => readTorchCheckpoint(zipWith(dir, pid)), "MODEL_WEIGHTS_UNSAFE", /not a storage/);
    const unsupported = new PickleWriter()
      .proto(2)
      .global("torch._utils", "_rebuild_qtensor")
      .emptyTuple()
      .reduce()
      .stop()
      .finish();
    refuses(() => readTorchCheckpoint(zipWith(dir, unsupported)), "CHECKPOINT_INVALID", /quantized tensors/);
  }));

// ---- broken files: refused with CHECKPOINT_INVALID, nothing allocated from their claims

test("a truncated file: zip cut anywhere, a pickle cut short, a legacy file cut in its storages", () =>
  withDir((dir) => {
    const good = join(dir, "good.bin");
    writeTorchCheckpoint(good, { w: { dtype: "F32", shape: [64], data: new Array(64).fill(1) } });
    const bytes = readFileSync(good);
    for (const cut of [10, 100, Math.floor(bytes.length / 2), bytes.length - 10]) {
      writeFileSync(join(dir, "cut.bin"), bytes.subarray(0, cut));
      refuses(() => readTorchCheckpoint(join(dir, "cut.bin")), "CHECKPOINT_INVALID");
    }
    const shortPickle = stateDictPickle([tensor({})]).subarray(0, 60);
    refuses(
      () => readTorchCheckpoint(zipWith(dir, shortPickle, { "0": f32([1, 2, 3, 4, 5, 6]) })),
      "CHECKPOINT_INVALID",
      /ends early/,
    );
    const legacy = join(dir, "legacy.bin");
    writeTorchCheckpoint(
      legacy,
      { w: { dtype: "F32", shape: [64], data: new Array(64).fill(1) } },
      { format: "legacy" },
    );
    writeFileSync(join(dir, "cut.bin"), readFileSync(legacy).subarray(0, readFileSync(legacy).length - 8));
    refuses(() => readTorchCheckpoint(join(dir, "cut.bin")), "CHECKPOINT_INVALID", /past the end/);
    writeFileSync(join(dir, "empty.bin"), "");
    refuses(() => readTorchCheckpoint(join(dir, "empty.bin")), "CHECKPOINT_INVALID");
  }));

test("a bad zip directory: wrong offsets, a broken entry, a compressed entry, duplicate names", () =>
  withDir((dir) => {
    const good = join(dir, "good.bin");
    writeTorchCheckpoint(good, { w: { dtype: "F32", shape: [4], data: [1, 2, 3, 4] } });
    const bytes = readFileSync(good);
    const eocd = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    const cdOffset = bytes.readUInt32LE(eocd + 16);
    const variant = (edit: (b: Buffer) => void) => {
      const b = Buffer.from(bytes);
      edit(b);
      writeFileSync(join(dir, "bad.bin"), b);
      return join(dir, "bad.bin");
    };
    refuses(
      () => readTorchCheckpoint(variant((b) => b.writeUInt32LE(0xfffffff0, eocd + 16))),
      "CHECKPOINT_INVALID",
      /zip directory/,
    );
    refuses(
      () => readTorchCheckpoint(variant((b) => b.writeUInt32LE(2 ** 31, eocd + 12))),
      "CHECKPOINT_INVALID",
      /zip directory/,
    );
    refuses(
      () => readTorchCheckpoint(variant((b) => b.writeUInt32LE(0x12345678, cdOffset))),
      "CHECKPOINT_INVALID",
      /directory entry/,
    );
    // The first entry's local header offset points into the middle of nowhere.
    refuses(
      () => readTorchCheckpoint(variant((b) => b.writeUInt32LE(cdOffset - 5, cdOffset + 42))),
      "CHECKPOINT_INVALID",
    );
    // Method 8 (deflate) on the first entry, central and local.
    refuses(
      () =>
        readTorchCheckpoint(
          variant((b) => {
            b.writeUInt16LE(8, cdOffset + 10);
            b.writeUInt16LE(8, 8);
          }),
        ),
      "CHECKPOINT_INVALID",
      /compressed/,
    );
    // Two entries named data.pkl: rename the version entry's central name to the pickle's.
    const names = [...bytes.toString("latin1").matchAll(/archive\/version/g)].map((m) => m.index!);
    refuses(
      () =>
        readTorchCheckpoint(variant((b) => b.write("archive/data.pkl", names[names.length - 1]!, "latin1"))),
      "CHECKPOINT_INVALID",
    );
  }));

test("a storage smaller than the tensor it backs, or a tensor past its storage's end", () =>
  withDir((dir) => {
    const cases: [PickledTensor, Uint8Array, RegExp][] = [
      [tensor({ storageNumel: 4 }), f32([1, 2, 3, 4]), /needs 24 bytes.*has 16/],
      [tensor({ offset: 1 }), f32([1, 2, 3, 4, 5, 6]), /needs 28 bytes/],
      // The pickle claims more elements than the zip entry holds.
      [tensor({ storageNumel: 600 }), f32([1, 2, 3, 4, 5, 6]), /claims 2400 bytes.*holds 24/],
    ];
    for (const [t, data, pattern] of cases) {
      refuses(
        () => readTorchCheckpoint(zipWith(dir, stateDictPickle([t]), { "0": data })),
        "CHECKPOINT_INVALID",
        pattern,
      );
    }
    // A storage key with no data/<key> entry.
    refuses(
      () => readTorchCheckpoint(zipWith(dir, stateDictPickle([tensor({ storage: "9" })]), { "0": f32([1]) })),
      "CHECKPOINT_INVALID",
      /no data\/9/,
    );
  }));

test("dims that overflow: huge sizes, integers past 2^53, negative or mismatched strides", () =>
  withDir((dir) => {
    const data = { "0": f32([1, 2, 3, 4, 5, 6]) };
    const check = (t: Partial<PickledTensor>, pattern: RegExp) =>
      refuses(
        () => readTorchCheckpoint(zipWith(dir, stateDictPickle([tensor(t)]), data)),
        "CHECKPOINT_INVALID",
        pattern,
      );
    check({ shape: [2 ** 31, 2 ** 31, 2 ** 31], stride: [2 ** 62, 2 ** 31, 1] }, /strides|needs/);
    check({ shape: [2 ** 40, 2 ** 40], stride: [2 ** 40, 1] }, /needs \d+ bytes/);
    check({ storageNumel: 2 ** 60 }, /too large/);
    check({ shape: [2, 3], stride: [3] }, /strides/);
    check({ shape: [-1, 3] }, /size/);
    check({ offset: 2 ** 60 }, /storage offset/);
  }));

test("non-contiguous strides are refused with what to do about them", () =>
  withDir((dir) => {
    const p = stateDictPickle([tensor({ shape: [3, 2], stride: [1, 3] })]);
    refuses(
      () => readTorchCheckpoint(zipWith(dir, p, { "0": f32([1, 2, 3, 4, 5, 6]) })),
      "CHECKPOINT_INVALID",
      /not contiguous.*strides \[1,3\].*contiguous\(\)/,
    );
    // Size-1 dims may have any stride, as in torch's is_contiguous.
    const ok = stateDictPickle([tensor({ shape: [1, 6], stride: [99, 1] })]);
    assert.equal(readTorchCheckpoint(zipWith(dir, ok, { "0": f32([1, 2, 3, 4, 5, 6]) })).tensors.length, 1);
  }));

test("deep nesting is refused without exhausting the stack; deep lists do not recurse", () =>
  withDir((dir) => {
    const marks = new PickleWriter().proto(2).bytes(Buffer.alloc(100_000, 0x28)); // MARK × 100 000
    refuses(
      () => readTorchCheckpoint(zipWith(dir, marks.stop().finish())),
      "CHECKPOINT_INVALID",
      new RegExp(`deeper than ${MAX_MARK_DEPTH}`),
    );
    // 200 000 lists, each APPENDed into the one below: nested that deep, built without recursion,
    // then refused as not a state dict.
    const lists = new PickleWriter()
      .proto(2)
      .bytes(Buffer.alloc(200_001, 0x5d)) // EMPTY_LIST
      .bytes(Buffer.alloc(200_000, 0x61)); // APPEND
    refuses(
      () => readTorchCheckpoint(zipWith(dir, lists.stop().finish())),
      "CHECKPOINT_INVALID",
      /not a state dict/,
    );
  }));

test("sizes a pickle claims are refused before they are read or built", () =>
  withDir((dir) => {
    // BINUNICODE claiming 4 GB in a file of a few bytes.
    const huge = new PickleWriter().proto(2).raw(0x58, 0xf0, 0xff, 0xff, 0xff).stop().finish();
    refuses(
      () => readTorchCheckpoint(zipWith(dir, huge)),
      "CHECKPOINT_INVALID",
      /string of 4294967280 bytes/,
    );
    // Millions of values (each a one-byte NONE opcode): refused past the budget, not built on.
    const many = new PickleWriter()
      .proto(2)
      .bytes(Buffer.alloc(MAX_PUSHES + 1, 0x4e))
      .stop()
      .finish();
    refuses(() => readTorchCheckpoint(zipWith(dir, many)), "CHECKPOINT_INVALID", /more than \d+ values/);
  }));

test("files that are not checkpoints at all", () =>
  withDir((dir) => {
    writeFileSync(join(dir, "text.bin"), "just text, no pickle here\n");
    refuses(
      () => readTorchCheckpoint(join(dir, "text.bin")),
      "CHECKPOINT_INVALID",
      /neither a torch\.save zip/,
    );
    writeFileSync(join(dir, "plain.bin"), new PickleWriter().proto(2).int(5).stop().finish());
    refuses(() => readTorchCheckpoint(join(dir, "plain.bin")), "CHECKPOINT_INVALID", /no torch\.save magic/);
    const noTensors = new PickleWriter().proto(2).emptyDict().str("epoch").int(3).setitem().stop().finish();
    refuses(() => readTorchCheckpoint(zipWith(dir, noTensors)), "CHECKPOINT_INVALID", /no tensors.*epoch/);
  }));
