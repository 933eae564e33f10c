// The two ways a pytorch_model.bin could be served, for bench/pickle-load.ts to measure:
//   - writePickleTwin(): a safetensors bench folder re-saved as torch.save's zip (with the test's own
//     writer, test/helpers/torch-writer.ts), streamed tensor by tensor, with a tied LM head as HF's
//     pickles have it;
//   - convertToSafetensors(): the rejected alternative to reading in place — a one-time conversion
//     into model.safetensors in a cache folder (never the user's), streamed tensor by tensor so the
//     model is never held in memory twice.
import {
  closeSync,
  copyFileSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { readSafetensorsHeader, WeightStore, type TensorInfo } from "../../src/graph/safetensors.js";
import { dtypeBytes } from "../../src/graph/safetensors.js";
import { stateDictPickle, writeTorchZip, type PickledTensor } from "../../test/helpers/torch-writer.js";

const CHUNK = 16 * 1024 * 1024;

/** Calls `write` with successive pieces of [offset, offset + length) of `file` (one reused buffer). */
function copyRange(file: string, offset: number, length: number, write: (chunk: Uint8Array) => void): void {
  const fd = openSync(file, "r");
  const buf = Buffer.alloc(Math.min(CHUNK, Math.max(length, 1)));
  try {
    let done = 0;
    while (done < length) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, length - done), offset + done);
      if (n <= 0) throw new Error(`${file}: unexpected end`);
      write(buf.subarray(0, n));
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** Every file of `from` except weights (and bench markers), into `to`. */
function copyModelFiles(from: string, to: string): void {
  for (const name of readdirSync(from)) {
    if (/\.(safetensors|bin)$|\.index\.json$|^\./.test(name)) continue;
    copyFileSync(join(from, name), join(to, name));
  }
}

/** `folder` (with model.safetensors) re-saved into `out` as pytorch_model.bin in torch's zip layout. */
export function writePickleTwin(folder: string, out: string, tiedHead?: { name: string; of: string }): void {
  const { tensors } = readSafetensorsHeader(join(folder, "model.safetensors"));
  const pickled: PickledTensor[] = tensors.map((t, i) => ({
    name: t.name,
    storage: String(i),
    dtype: t.dtype as PickledTensor["dtype"],
    storageNumel: t.byteLength / dtypeBytes[t.dtype],
    shape: t.shape,
  }));
  if (tiedHead) {
    const of = pickled.find((p) => p.name === tiedHead.of);
    if (!of) throw new Error(`no ${tiedHead.of} to tie ${tiedHead.name} to`);
    pickled.push({ ...of, name: tiedHead.name });
  }
  mkdirSync(out, { recursive: true });
  writeTorchZip(
    join(out, "pytorch_model.bin"),
    stateDictPickle(pickled),
    tensors.map((t, i) => ({
      key: String(i),
      size: t.byteLength,
      stream: (write) => copyRange(t.file, t.byteOffset, t.byteLength, write),
    })),
    { archive: "pytorch_model" },
  );
  copyModelFiles(folder, out);
}

/** Converts the pickle weights of `folder` into `<cacheDir>/model.safetensors` (+ the config files). */
export function convertToSafetensors(folder: string, cacheDir: string): void {
  const store = WeightStore.open(folder);
  const tensors: TensorInfo[] = store.names().map((n) => store.info(n));
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.byteLength] };
    offset += t.byteLength;
  }
  let json = Buffer.from(JSON.stringify(header));
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  mkdirSync(cacheDir, { recursive: true });
  const partial = join(cacheDir, "model.safetensors.partial");
  const fd = openSync(partial, "w");
  try {
    writeSync(fd, length);
    writeSync(fd, json);
    for (const t of tensors) copyRange(t.file, t.byteOffset, t.byteLength, (chunk) => writeSync(fd, chunk));
  } finally {
    closeSync(fd);
  }
  renameSync(partial, join(cacheDir, "model.safetensors"));
  copyModelFiles(folder, cacheDir);
}
