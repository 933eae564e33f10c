// The zip container of torch.save (PyTorch ≥ 1.6): read from its central directory, ZIP64 included
// (checkpoints over 4 GB). torch writes every entry stored (uncompressed) and pads the local headers
// so each entry's data starts on a 64-byte boundary: an entry's bytes are a plain range of the file,
// which is what lets weights be read in place. Every offset and size is checked against the file
// before it is used.
import { readSync } from "node:fs";
import { fail } from "../../errors.js";

export interface ZipEntry {
  name: string;
  /** 0 = stored; anything else is compressed. */
  method: number;
  flags: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
/** A central directory beyond this is not a checkpoint's (a few hundred bytes per tensor). */
const MAX_CENTRAL_DIRECTORY = 256 * 1024 * 1024;

export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();
  private centralOffset = 0;

  private constructor(
    private readonly fd: number,
    readonly fileSize: number,
    private readonly label: string,
  ) {}

  private invalid(what: string): Error {
    return fail("CHECKPOINT_INVALID", `${this.label}: ${what}`);
  }

  /** Reads `length` bytes at `position`, after checking the range lies inside the file. */
  read(position: number, length: number, what: string): Buffer {
    if (!Number.isSafeInteger(position) || position < 0 || length < 0 || position + length > this.fileSize) {
      throw this.invalid(`${what} lies outside the file (truncated or corrupt zip)`);
    }
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, buf, done, length - done, position + done);
      if (n <= 0) throw this.invalid(`${what}: unexpected end of file`);
      done += n;
    }
    return buf;
  }

  static open(fd: number, fileSize: number, label: string): ZipArchive {
    const zip = new ZipArchive(fd, fileSize, label);
    zip.readCentralDirectory();
    return zip;
  }

  private readCentralDirectory(): void {
    // The end-of-central-directory record: 22 bytes plus a comment of up to 64 KiB, at the end.
    const tailLength = Math.min(this.fileSize, 22 + 0xffff);
    const tailStart = this.fileSize - tailLength;
    const tail = this.read(tailStart, tailLength, "the end of the zip");
    let at = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD && i + 22 + tail.readUInt16LE(i + 20) <= tail.length) {
        at = i;
        break;
      }
    }
    if (at < 0) throw this.invalid("no zip directory at the end of the file (truncated download?)");
    const eocdPosition = tailStart + at;
    if (tail.readUInt16LE(at + 4) !== 0 || tail.readUInt16LE(at + 6) !== 0)
      throw this.invalid("multi-part zip archives are not supported");
    let count = tail.readUInt16LE(at + 10);
    let cdSize = tail.readUInt32LE(at + 12);
    let cdOffset = tail.readUInt32LE(at + 16);

    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      // ZIP64: a locator 20 bytes before the record points at the 64-bit record.
      const locator = this.read(eocdPosition - 20, 20, "the ZIP64 locator");
      if (locator.readUInt32LE(0) !== ZIP64_LOCATOR) throw this.invalid("ZIP64 locator missing");
      const recordOffset = this.safe(locator.readBigUInt64LE(8), "ZIP64 record offset");
      const record = this.read(recordOffset, 56, "the ZIP64 directory record");
      if (record.readUInt32LE(0) !== ZIP64_EOCD) throw this.invalid("ZIP64 directory record missing");
      count = this.safe(record.readBigUInt64LE(32), "entry count");
      cdSize = this.safe(record.readBigUInt64LE(40), "directory size");
      cdOffset = this.safe(record.readBigUInt64LE(48), "directory offset");
    }
    if (cdSize > MAX_CENTRAL_DIRECTORY || cdOffset + cdSize > eocdPosition || count > cdSize / 46) {
      throw this.invalid(`bad zip directory (${count} entries, ${cdSize} bytes at ${cdOffset})`);
    }
    this.centralOffset = cdOffset;
    const cd = this.read(cdOffset, cdSize, "the zip directory");
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL)
        throw this.invalid(`bad zip directory entry ${i}`);
      const flags = cd.readUInt16LE(p + 8);
      const method = cd.readUInt16LE(p + 10);
      let compressedSize = cd.readUInt32LE(p + 20);
      let size = cd.readUInt32LE(p + 24);
      const nameLength = cd.readUInt16LE(p + 28);
      const extraLength = cd.readUInt16LE(p + 30);
      const commentLength = cd.readUInt16LE(p + 32);
      let localHeaderOffset = cd.readUInt32LE(p + 42);
      const end = p + 46 + nameLength + extraLength + commentLength;
      if (end > cd.length) throw this.invalid(`zip directory entry ${i} runs past the directory`);
      const name = cd.toString("utf8", p + 46, p + 46 + nameLength);
      // ZIP64 extended information: the 64-bit values of the fields that say 0xffffffff, in order.
      let x = p + 46 + nameLength;
      const extraEnd = x + extraLength;
      while (x + 4 <= extraEnd) {
        const id = cd.readUInt16LE(x);
        const len = cd.readUInt16LE(x + 2);
        if (x + 4 + len > extraEnd) throw this.invalid(`bad extra field in zip entry ${name}`);
        if (id === 0x0001) {
          let f = x + 4;
          const next = (what: string) => {
            if (f + 8 > x + 4 + len) throw this.invalid(`short ZIP64 field in zip entry ${name}`);
            const v = this.safe(cd.readBigUInt64LE(f), what);
            f += 8;
            return v;
          };
          if (size === 0xffffffff) size = next("entry size");
          if (compressedSize === 0xffffffff) compressedSize = next("entry size");
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = next("entry offset");
        }
        x += 4 + len;
      }
      if (this.entries.has(name)) throw this.invalid(`the zip holds ${name} twice`);
      this.entries.set(name, { name, method, flags, compressedSize, size, localHeaderOffset });
      p = end;
    }
  }

  private safe(v: bigint, what: string): number {
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.invalid(`${what} ${v} is too large`);
    return Number(v);
  }

  /** Where the entry's bytes start in the file; they must be stored, unencrypted, before the directory. */
  dataOffset(entry: ZipEntry): number {
    if (entry.flags & 1) throw this.invalid(`${entry.name} is encrypted`);
    if (entry.method !== 0 || entry.compressedSize !== entry.size) {
      throw this.invalid(
        `${entry.name} is compressed (zip method ${entry.method}); torch.save stores entries uncompressed, ` +
          `which is what lets Sightline read them in place: re-save the checkpoint with torch.save`,
      );
    }
    const header = this.read(entry.localHeaderOffset, 30, `the local header of ${entry.name}`);
    if (header.readUInt32LE(0) !== LOCAL) throw this.invalid(`bad local header for ${entry.name}`);
    const nameLength = header.readUInt16LE(26);
    const extraLength = header.readUInt16LE(28);
    const localName = this.read(entry.localHeaderOffset + 30, nameLength, `the name of ${entry.name}`);
    if (localName.toString("utf8") !== entry.name)
      throw this.invalid(`local header of ${entry.name} names another file`);
    const start = entry.localHeaderOffset + 30 + nameLength + extraLength;
    if (start + entry.size > this.centralOffset)
      throw this.invalid(`${entry.name} runs past the end of the data`);
    return start;
  }

  /** A whole (small) entry's bytes, refused beyond `maxBytes` before anything is allocated. */
  readEntry(entry: ZipEntry, maxBytes: number): Buffer {
    if (entry.size > maxBytes)
      throw this.invalid(`${entry.name} is ${entry.size} bytes, more than ${maxBytes}`);
    return this.read(this.dataOffset(entry), entry.size, entry.name);
  }
}
