// Image input other than URLs: base64 (standard, URL-safe, wrapped), data: URLs, byte limits,
// file signatures — the checks every dialect shares (src/images/input.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeBase64, decodeDataUrl, readImageBytes, readImageInput } from "../../src/images/input.js";
import { isSightlineError } from "../../src/errors.js";
import { png } from "../server/helpers.js";

const code = (e: unknown) => (isSightlineError(e) ? e.code : (e as Error).message);

test("base64: standard, URL-safe, unpadded and line-wrapped all decode; junk does not", async () => {
  const bytes = await png(3, 2);
  const std = bytes.toString("base64");
  for (const text of [
    std,
    bytes.toString("base64url"),
    std.replace(/=+$/, ""),
    std.replace(/(.{60})/g, "$1\r\n"),
  ]) {
    assert.deepEqual(Buffer.from(decodeBase64(text)), bytes);
  }
  for (const bad of ["", "   ", "a", "abc$", "ab==cd", "data:image/png;base64,AAAA"]) {
    assert.throws(
      () => decodeBase64(bad),
      (e) => code(e) === "IMAGE_INVALID",
      JSON.stringify(bad),
    );
  }
  assert.throws(
    () => decodeBase64("A".repeat(4000), 1000),
    (e) => code(e) === "IMAGE_TOO_LARGE",
  );
});

test("data: URLs: base64 and percent-encoded payloads; malformed ones refused", async () => {
  const bytes = await png(3, 2);
  assert.deepEqual(Buffer.from(decodeDataUrl(`data:image/png;base64,${bytes.toString("base64")}`)), bytes);
  assert.deepEqual(Buffer.from(decodeDataUrl(`DATA:image/png;BASE64,${bytes.toString("base64")}`)), bytes);
  assert.deepEqual(Buffer.from(decodeDataUrl("data:,A%20B")), Buffer.from("A B"));
  for (const bad of ["data:image/png;base64", "image/png;base64,AAAA", "data:,%E0%A4%A"]) {
    assert.throws(
      () => decodeDataUrl(bad),
      (e) => code(e) === "IMAGE_INVALID",
      bad,
    );
  }
});

test("readImageBytes / readImageInput: every source kind, signature check, byte limit", async () => {
  const bytes = await png(5, 4);
  const sources = [
    { kind: "bytes" as const, bytes },
    { kind: "base64" as const, data: bytes.toString("base64") },
    { kind: "base64" as const, data: `data:image/png;base64,${bytes.toString("base64")}` },
    { kind: "url" as const, url: ` data:image/png;base64,${bytes.toString("base64")} ` },
  ];
  for (const s of sources) {
    const img = await readImageInput(s);
    assert.deepEqual([img.width, img.height, img.data.length], [5, 4, 60]);
  }
  await assert.rejects(
    readImageBytes({ kind: "bytes", bytes: Buffer.from("<html></html>") }),
    (e) => code(e) === "IMAGE_INVALID",
  );
  await assert.rejects(
    readImageBytes({ kind: "bytes", bytes: new Uint8Array(0) }),
    (e) => code(e) === "IMAGE_INVALID",
  );
  await assert.rejects(
    readImageBytes({ kind: "bytes", bytes }, { maxBytes: 10 }),
    (e) => code(e) === "IMAGE_TOO_LARGE",
  );
  await assert.rejects(
    readImageInput({ kind: "bytes", bytes }, { maxPixels: 10 }),
    (e) => code(e) === "IMAGE_TOO_LARGE",
  );
});
