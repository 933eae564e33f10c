// Writes small .safetensors files for tests (float32 / float16 / bfloat16 tensors).
import { writeFileSync } from "node:fs";

export interface TensorSpec {
  dtype: "F32" | "F16" | "BF16";
  shape: number[];
  data: ArrayLike<number>;
}

function floatToHalf(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  let exp = ((x >>> 23) & 0xff) - 127 + 15;
  let mant = x & 0x7fffff;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    return sign | ((mant + (1 << (shift - 1))) >> shift);
  }
  if (exp >= 31) return sign | 0x7c00;
  mant += 0x1000; // round
  if (mant & 0x800000) {
    mant = 0;
    exp += 1;
  }
  return sign | (exp << 10) | (mant >> 13);
}

export function writeSafetensors(path: string, tensors: Record<string, TensorSpec>): void {
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const n = t.data.length;
    let buf: Buffer;
    if (t.dtype === "F32") {
      buf = Buffer.from(Float32Array.from(t.data).buffer);
    } else if (t.dtype === "F16") {
      buf = Buffer.alloc(n * 2);
      for (let i = 0; i < n; i++) buf.writeUInt16LE(floatToHalf(t.data[i]), i * 2);
    } else {
      buf = Buffer.alloc(n * 2);
      const f = new Float32Array(1);
      const u = new Uint32Array(f.buffer);
      for (let i = 0; i < n; i++) {
        f[0] = t.data[i];
        buf.writeUInt16LE(u[0] >>> 16, i * 2);
      }
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + buf.length] };
    chunks.push(buf);
    offset += buf.length;
  }
  let json = Buffer.from(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8;
  json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([len, json, ...chunks]));
}
