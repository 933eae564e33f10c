import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  copyFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import sharp from "sharp";
import { captionFolder, type CaptionFolderOptions } from "../../src/folder/run.js";
import { serverCaptioner } from "../../src/folder/captioners.js";
import { MetadataWriter } from "../../src/folder/metadata.js";
import {
  startFakeCaptionServer,
  captionFor,
  type FakeCaptionServer,
} from "../helpers/fake-caption-server.js";
import { seedText } from "../helpers/fixtures.js";
import { waitFor } from "../server/helpers.js";

const shared = resolve(process.cwd(), "../shared");
const cli = resolve(process.cwd(), "bin/sightline.js");
const tsxCli = ["--import", "tsx", resolve(process.cwd(), "src/cli/main.ts")];

/** The CLI in a child process, without blocking this one (fake servers here must keep answering). */
function runCli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [...tsxCli, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => done({ status, stdout, stderr }));
  });
}

/** nested folders, mixed formats, a corrupt image, a non-image, a symlink loop */
async function makeTree(): Promise<{ root: string; images: string[] }> {
  const root = mkdtempSync(join(tmpdir(), "sl-folder-"));
  mkdirSync(join(root, "a", "b"), { recursive: true });
  copyFileSync(join(shared, "images/orientation/landscape_3.jpg"), join(root, "one.jpg"));
  copyFileSync(join(shared, "fixtures/blip/image1.png"), join(root, "a", "two.png"));
  await sharp(join(shared, "fixtures/blip/image2.png"))
    .webp()
    .toFile(join(root, "a", "b", "three.webp"));
  copyFileSync(
    join(shared, "images/tiff") + "/" + readdirSync(join(shared, "images/tiff"))[0],
    join(root, "a", "b", "four.tif"),
  );
  writeFileSync(
    join(root, "a", "broken.jpg"),
    Buffer.from("this is not a jpeg at all, just text pretending"),
  );
  writeFileSync(join(root, "notes.md"), "not an image");
  symlinkSync("..", join(root, "a", "loop"));
  return { root, images: ["one.jpg", "a/two.png", "a/b/three.webp", "a/b/four.tif"] };
}

function sidecar(root: string, rel: string, ext = "txt"): string {
  return join(root, rel.replace(/\.[^.]+$/, "") + "." + ext);
}

function expectedCaption(root: string, rel: string, prompt = "<CAPTION>"): string {
  return captionFor(readFileSync(join(root, rel)), prompt);
}

let servers: FakeCaptionServer[] = [];
before(async () => {
  servers = [await startFakeCaptionServer(), await startFakeCaptionServer()];
});
after(async () => {
  for (const s of servers) await s.close();
});

function opts(root: string, over: Partial<CaptionFolderOptions> = {}): CaptionFolderOptions {
  return {
    root,
    ext: "txt",
    mode: "skip",
    separator: ", ",
    prefix: "",
    suffix: "",
    dryRun: false,
    followSymlinks: false,
    writeExif: false,
    backup: true,
    ...over,
  };
}

test("two servers share a tree; corrupt images fail without stopping the run; skip-existing on re-run", async () => {
  const { root, images } = await makeTree();
  try {
    const caps = servers.map((s) => serverCaptioner(s.url, { slots: 2 }));
    const before0 = servers.map((s) => s.requests);
    const r = await captionFolder(opts(root, { prefix: "ohwx, " }), caps);
    assert.equal(r.total, 5);
    assert.equal(r.captioned, 4);
    assert.deepEqual(
      r.failed.map((f) => f.image),
      ["a/broken.jpg"],
    );
    for (const rel of images)
      assert.equal(readFileSync(sidecar(root, rel), "utf8"), `ohwx, ${expectedCaption(root, rel)}\n`);
    assert.ok(
      servers.every((s, i) => s.requests > before0[i]),
      "both servers did work",
    );
    assert.ok(!existsSync(sidecar(root, "a/broken.jpg")));
    const again = await captionFolder(opts(root), caps);
    assert.equal(again.skipped, 4);
    assert.equal(again.captioned, 0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("overwrite, append, prepend, and the combined JSONL / CSV files", async () => {
  const { root, images } = await makeTree();
  try {
    const cap = [serverCaptioner(servers[0].url)];
    writeFileSync(sidecar(root, "one.jpg"), "old text\n");
    await captionFolder(opts(root, { mode: "append" }), cap);
    assert.equal(
      readFileSync(sidecar(root, "one.jpg"), "utf8"),
      `old text, ${expectedCaption(root, "one.jpg")}\n`,
    );
    writeFileSync(sidecar(root, "one.jpg"), "old text\n");
    await captionFolder(opts(root, { mode: "prepend", separator: " | " }), cap);
    assert.equal(
      readFileSync(sidecar(root, "one.jpg"), "utf8"),
      `${expectedCaption(root, "one.jpg")} | old text\n`,
    );
    await captionFolder(opts(root, { mode: "overwrite", suffix: " END" }), cap);
    assert.equal(readFileSync(sidecar(root, "one.jpg"), "utf8"), `${expectedCaption(root, "one.jpg")} END\n`);
    const jsonl = join(root, "out.jsonl");
    const csv = join(root, "out.csv");
    await captionFolder(opts(root, { ext: null, jsonl, csv }), cap);
    const rows = readFileSync(jsonl, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      rows.map((r) => r.file),
      [...images].sort(),
    );
    for (const row of rows) assert.equal(row.caption, expectedCaption(root, row.file));
    const csvLines = readFileSync(csv, "utf8").trim().split("\n");
    assert.equal(csvLines[0], "file,caption");
    assert.equal(csvLines.length, images.length + 1);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("dry run writes nothing; include/exclude globs", async () => {
  const { root } = await makeTree();
  try {
    const cap = [serverCaptioner(servers[0].url)];
    const r = await captionFolder(opts(root, { dryRun: true }), cap);
    assert.equal(r.planned, 5);
    assert.ok(!existsSync(sidecar(root, "one.jpg")));
    const only = await captionFolder(opts(root, { include: ["a/**/*.webp"] }), cap);
    assert.equal(only.total, 1);
    const ex = await captionFolder(opts(root, { exclude: ["a/**"] }), cap);
    assert.equal(ex.total, 0 + 1 /* one.jpg */);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("XMP sidecars and EXIF written through exiftool, read back", async () => {
  const { root } = await makeTree();
  try {
    const cap = [serverCaptioner(servers[0].url)];
    const xmp = join(root, "one.jpg.xmp");
    // an existing sidecar keeps its keywords; ours are appended, de-duplicated
    const mw = new MetadataWriter();
    const seed = await mw.prepareXmp(xmp, "old", ["Holiday", "shared tag"]);
    mw.commit(seed);
    const r = await captionFolder(
      opts(root, { ext: null, xmp: "photo.jpg.xmp", tagsPrompt: "<GENERATE_TAGS>", include: ["*.jpg"] }),
      cap,
    );
    assert.equal(r.captioned, 1);
    const tags = await mw.read(xmp);
    assert.equal(tags.Description, expectedCaption(root, "one.jpg"));
    const tag0 = captionFor(readFileSync(join(root, "one.jpg")), "<GENERATE_TAGS>").split(",")[0];
    assert.deepEqual(tags.Subject, ["Holiday", "shared tag", tag0]);

    const wanted = expectedCaption(root, "one.jpg"); // of the bytes before we write into them
    const r2 = await captionFolder(opts(root, { ext: null, writeExif: true, include: ["*.jpg"] }), cap);
    assert.equal(r2.captioned, 1);
    const exif = await mw.read(join(root, "one.jpg"));
    assert.equal(exif.ImageDescription, wanted);
    assert.equal(exif.Description, wanted);
    assert.ok(existsSync(join(root, "one.jpg_original")), "backup kept");
    const img = await sharp(join(root, "one.jpg")).metadata();
    assert.ok(img.width && img.height, "image still decodes");
    await mw.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("CLI: SIGTERM mid-run, then re-run: no partial file, every image captioned exactly once (append mode)", async () => {
  // Three captions are answered, then the server holds the fourth until the signal has arrived.
  const slow = await startFakeCaptionServer({ holdAfter: 3 });
  const { root, images } = await makeTree();
  for (let i = 0; i < 8; i++) copyFileSync(join(root, "a", "two.png"), join(root, `copy${i}.png`));
  for (const rel of images) writeFileSync(sidecar(root, rel), "seed");
  try {
    const args = [...tsxCli, "caption-folder", root, "--server", slow.url, "--append", "--concurrency", "1"];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    await waitFor(() => (err.match(/captioned/g) ?? []).length >= 3 || child.exitCode !== null, 120_000);
    assert.equal(child.exitCode, null, `caption-folder did not get going: ${err}`);
    child.kill("SIGTERM");
    await waitFor(() => err.includes("SIGTERM: finishing the images in flight"), 120_000);
    slow.release();
    const code = await exited;
    assert.equal(code, 130, err);
    const leftovers = readdirSync(root, { recursive: true })
      .map(String)
      .filter((n) => n.includes("sightline-tmp"));
    assert.deepEqual(leftovers, []);
    // Not spawnSync: the fake server lives in this process and must keep answering.
    const rerun = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
    let rerunErr = "";
    rerun.stderr.on("data", (d) => (rerunErr += d));
    const rerunCode = await new Promise<number | null>((r) => rerun.on("exit", (c) => r(c)));
    assert.equal(rerunCode, 1, rerunErr); // broken.jpg fails
    for (const rel of [...images, ...Array.from({ length: 8 }, (_, i) => `copy${i}.png`)]) {
      const want = images.includes(rel)
        ? `seed, ${expectedCaption(root, rel)}\n`
        : `${expectedCaption(root, rel)}\n`;
      assert.equal(readFileSync(sidecar(root, rel), "utf8"), want, rel);
    }
  } finally {
    await slow.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test("CLI: bad arguments are one-line errors", () => {
  const r = spawnSync(
    process.execPath,
    [...tsxCli, "caption-folder", "/nonexistent-folder", "--server", "http://127.0.0.1:9"],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 1);
  assert.match(r.stderr.trim(), /^error FILE_NOT_FOUND: /);
  const r2 = spawnSync(process.execPath, [...tsxCli, "caption-folder", shared], { encoding: "utf8" });
  assert.match(r2.stderr.trim(), /^error INVALID_ARGUMENT: /);
  void cli;
});

test("in-process model: captions equal the fixture's seed generation", async () => {
  const { modelCaptioner } = await import("../../src/folder/captioners.js");
  const fixture = join(shared, "fixtures/vit-gpt2");
  const root = mkdtempSync(join(tmpdir(), "sl-folder-model-"));
  try {
    copyFileSync(join(fixture, "image1.png"), join(root, "image1.png"));
    const cap = await modelCaptioner(fixture);
    const r = await captionFolder(opts(root), [cap]);
    await cap.close();
    assert.equal(r.captioned, 1);
    assert.equal(readFileSync(join(root, "image1.txt"), "utf8"), `${seedText("vit-gpt2")}\n`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a sidecar deleted or changed since the journal recorded it is written again", async () => {
  const { root } = await makeTree();
  try {
    const caps = [serverCaptioner(servers[0].url)];
    // broken.jpg fails, so the run's journal stays for the next run of the same command.
    const first = await captionFolder(opts(root, { mode: "overwrite" }), caps);
    assert.equal(first.captioned, 4);
    assert.equal(first.failed.length, 1);
    rmSync(sidecar(root, "one.jpg"));
    writeFileSync(sidecar(root, "a/two.png"), "edited by hand\n");
    const second = await captionFolder(opts(root, { mode: "overwrite" }), caps);
    assert.equal(second.captioned, 2, "the deleted and the changed sidecar");
    assert.equal(second.skipped, 2, "the two untouched sidecars are done");
    for (const rel of ["one.jpg", "a/two.png"])
      assert.equal(readFileSync(sidecar(root, rel), "utf8"), `${expectedCaption(root, rel)}\n`, rel);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a server that does not serve --server-model is asked once, not once per image", async () => {
  const { root } = await makeTree();
  try {
    const server = await startFakeCaptionServer(); // answers 404 to the chat API a model name needs
    try {
      const r = await captionFolder(opts(root), [serverCaptioner(server.url, { model: "nope", slots: 2 })]);
      assert.equal(r.failed.length, 0);
      assert.equal(r.captioned, 0);
      assert.equal(r.notDone, 5);
      assert.equal(r.unusable.length, 1);
      assert.match(r.unusable[0].reason, /404/);
      assert.ok(server.requests <= 2, `${server.requests} requests (one per slot at most)`);
      assert.equal(readdirSync(root).filter((n) => n.endsWith(".txt")).length, 0);

      // Beside a server that works, the other one takes every image, including the one handed back.
      const mixed = await captionFolder(opts(root), [
        serverCaptioner(server.url, { model: "nope", slots: 2 }),
        serverCaptioner(servers[0].url, { slots: 1 }),
      ]);
      assert.equal(mixed.captioned, 4);
      assert.equal(mixed.failed.length, 1); // broken.jpg
      assert.equal(mixed.notDone, 0);
    } finally {
      await server.close();
    }

    // The CLI: one line saying which server could not be used, exit 1, no per-image failures.
    // (Not spawnSync: the fake server lives in this process and must keep answering.)
    const cliRun = await runCli([
      "caption-folder",
      root,
      "--server",
      servers[0].url,
      "--server-model",
      "nope",
      "--overwrite",
    ]);
    assert.equal(cliRun.status, 1, cliRun.stderr);
    assert.equal((cliRun.stderr.match(/404/g) ?? []).length, 1, cliRun.stderr);
    assert.match(cliRun.stderr, /not used: http:\/\/127\.0\.0\.1:\d+#nope: .*404/);
    assert.match(cliRun.stderr, /^stopped: /m);
    assert.doesNotMatch(cliRun.stderr, /failed: /);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
