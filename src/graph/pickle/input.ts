// Byte sources the unpickler reads from: a buffer (a zip's data.pkl) or a window of an open file (a
// legacy checkpoint, whose pickles sit in front of gigabytes of raw storage). Every read is checked
// against what is left before anything is allocated, so a crafted length cannot make a big buffer.
import { readSync } from "node:fs";
import { fail } from "../../errors.js";

export interface ByteInput {
  /** Offset of the next byte (from the start of the buffer / file). */
  readonly position: number;
  /** Bytes left before the end. */
  readonly remaining: number;
  byte(): number;
  bytes(n: number): Uint8Array;
  /** Bytes up to the next "\n" (not included), at most `max` of them. */
  line(max: number): string;
}

const utf8 = new TextDecoder("utf-8");

/** `label` names the file in errors. */
function truncated(label: string): Error {
  return fail("CHECKPOINT_INVALID", `${label}: the pickle ends early (truncated file?)`);
}

export class BufferInput implements ByteInput {
  private pos = 0;

  constructor(
    private readonly data: Uint8Array,
    private readonly label: string,
  ) {}

  get position(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.data.length - this.pos;
  }

  byte(): number {
    if (this.pos >= this.data.length) throw truncated(this.label);
    return this.data[this.pos++]!;
  }

  bytes(n: number): Uint8Array {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.remaining) throw truncated(this.label);
    const out = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  line(max: number): string {
    const end = this.data.indexOf(0x0a, this.pos);
    if (end < 0 || end - this.pos > max) throw truncated(this.label);
    const out = utf8.decode(this.data.subarray(this.pos, end));
    this.pos = end + 1;
    return out;
  }
}

/** Reads [start, end) of an open file through a small window; `seek` moves on without reading. */
export class FileInput implements ByteInput {
  private readonly window = Buffer.alloc(64 * 1024);
  private windowStart = 0;
  private windowEnd = 0;
  private pos: number;

  constructor(
    private readonly fd: number,
    start: number,
    private readonly end: number,
    private readonly label: string,
  ) {
    this.pos = start;
  }

  get position(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  seek(position: number): void {
    if (position < 0 || position > this.end) throw truncated(this.label);
    this.pos = position;
  }

  private fill(): void {
    const n = readSync(this.fd, this.window, 0, Math.min(this.window.length, this.end - this.pos), this.pos);
    if (n <= 0) throw truncated(this.label);
    this.windowStart = this.pos;
    this.windowEnd = this.pos + n;
  }

  byte(): number {
    if (this.pos >= this.end) throw truncated(this.label);
    if (this.pos < this.windowStart || this.pos >= this.windowEnd) this.fill();
    return this.window[this.pos++ - this.windowStart]!;
  }

  bytes(n: number): Uint8Array {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.remaining) throw truncated(this.label);
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      if (this.pos < this.windowStart || this.pos >= this.windowEnd) this.fill();
      const take = Math.min(n - done, this.windowEnd - this.pos);
      out.set(this.window.subarray(this.pos - this.windowStart, this.pos - this.windowStart + take), done);
      done += take;
      this.pos += take;
    }
    return out;
  }

  line(max: number): string {
    const chars: number[] = [];
    for (;;) {
      const b = this.byte();
      if (b === 0x0a) return utf8.decode(Uint8Array.from(chars));
      if (chars.length >= max) throw truncated(this.label);
      chars.push(b);
    }
  }
}
