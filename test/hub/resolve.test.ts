import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { pullModel, resolveModel, type PullEvent, type ResolveOptions } from "../../src/hub/index.js";
import { isSightlineError } from "../../src/errors.js";
import { startFakeHub, type FakeHub } from "../helpers/hub-server.js";
import { fixture, folderDifferences, modelFileNames, withTempDir } from "./fixture-files.js";

const token = "hf_test_token";

async function withHub<T>(fn: (hub: FakeHub) => Promise<T>): Promise<T> {
  const hub = await startFakeHub(
    {
      "tiny/vit-gpt2": { dir: fixture("vit-gpt2") },
      "tiny/blip": { dir: fixture("blip"), revisions: { "refs/pr/1": "1".repeat(40) } },
      "tiny/kosmos-2": { dir: fixture("kosmos-2") },
      "tiny/florence-2": { dir: fixture("florence-2") },
      "tiny/gated-blip": { dir: fixture("blip"), gated: true },
      "legacy/pickle-only": {
        files: {
          "config.json": '{"model_type": "vit"}',
          "pytorch_model.bin": Buffer.alloc(1000, 7),
          "tokenizer.json": "{}",
        },
      },
    },
    { token },
  );
  try {
    return await fn(hub);
  } finally {
    await hub.close();
  }
}

function opts(hub: FakeHub, cacheDir: string, extra: ResolveOptions = {}): ResolveOptions {
  return { endpoint: hub.endpoint, cacheDir, offline: false, token: "", retryDelayMs: 5, ...extra };
}

async function rejectsWith(p: Promise<unknown>, code: string, pattern?: RegExp): Promise<Error> {
  try {
    await p;
  } catch (e) {
    assert.ok(isSightlineError(e), `expected a SightlineError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    return e;
  }
  assert.fail(`expected ${code}`);
}

const safetensorsSize = async (arch: string) => (await stat(join(fixture(arch), "model.safetensors"))).size;

test("pulls each fixture folder: only the model files, byte-identical, LFS through the CDN redirect", async () => {
  await withHub(async (hub) =>
    withTempDir(async (cacheDir) => {
      for (const arch of ["vit-gpt2", "blip", "kosmos-2", "florence-2"]) {
        const dir = await resolveModel(`tiny/${arch}`, opts(hub, cacheDir));
        assert.deepEqual(await folderDifferences(fixture(arch), dir), [], arch);
        // Test data next to the model files never leaves the hub.
        assert.ok(!hub.log.some((e) => /expected\.json|image\d\.png|img\d_/.test(e.path)), arch);
        // The weights came from the CDN after a redirect, exactly once.
        const weights = hub.contentRequests(`tiny/${arch}/model.safetensors`);
        assert.equal(weights.length, 1);
        assert.equal(weights[0].host, "cdn");
        assert.equal(hub.bytesSent(`tiny/${arch}/model.safetensors`), await safetensorsSize(arch));
      }
      // Layout: <models>/<owner>--<name>/snapshots/<commit>, refs.json, manifests/<commit>.json.
      const repoDir = join(cacheDir, "tiny--vit-gpt2");
      const refs = JSON.parse(await readFile(join(repoDir, "refs.json"), "utf8"));
      assert.match(refs.main, /^[0-9a-f]{40}$/);
      assert.deepEqual(await readdir(join(repoDir, "snapshots")), [refs.main]);
      const manifest = JSON.parse(await readFile(join(repoDir, "manifests", `${refs.main}.json`), "utf8"));
      assert.deepEqual(
        manifest.files.map((f: { name: string }) => f.name).sort(),
        await modelFileNames(fixture("vit-gpt2")),
      );
      assert.match(
        manifest.files.find((f: { name: string }) => f.name === "model.safetensors").sha256,
        /^[0-9a-f]{64}$/,
      );
    }),
  );
});

test("a second resolve only asks the hub for the commit and downloads nothing", async () => {
  await withHub(async (hub) =>
    withTempDir(async (cacheDir) => {
      const first = await resolveModel("tiny/vit-gpt2", opts(hub, cacheDir));
      const before = hub.log.length;
      const second = await resolveModel("tiny/vit-gpt2", opts(hub, cacheDir));
      assert.equal(second, first);
      const after = hub.log.slice(before);
      assert.equal(after.length, 1);
      assert.match(after[0].path, /^\/api\/models\/tiny\/vit-gpt2\/revision\/main/);
      // A pinned commit needs no request at all.
      const commit = first.split("/").at(-1)!;
      await resolveModel(`tiny/vit-gpt2@${commit}`, opts(hub, cacheDir));
      assert.equal(hub.log.length, before + 1);
    }),
  );
});

test("a cut connection is resumed with a Range request: only the rest is transferred", async () => {
  await withHub(async (hub) =>
    withTempDir(async (cacheDir) => {
      const key = "tiny/blip/model.safetensors";
      const size = await safetensorsSize("blip");
      const cutAt = 3_000_000;
      hub.cutOnce(key, cutAt);
      await rejectsWith(
        resolveModel("tiny/blip", opts(hub, cacheDir, { retries: 0 })),
        "HUB_DOWNLOAD_FAILED",
        /resume/,
      );
      const snapshots = await readdir(join(cacheDir, "tiny--blip", "snapshots"));
      const partial = join(cacheDir, "tiny--blip", "snapshots", snapshots[0], "model.safetensors.incomplete");
      // What reached the disk: at most what the server sent before the cut (a few chunks still
      // queued in the client's stream when the connection dropped are lost and sent again).
      const kept = (await stat(partial)).size;
      assert.ok(kept > 0 && kept <= cutAt, `kept ${kept}`);
      assert.equal(hub.bytesSent(key), cutAt);

      const dir = await resolveModel("tiny/blip", opts(hub, cacheDir));
      const requests = hub.contentRequests(key);
      assert.equal(requests.length, 2);
      assert.equal(requests[1].range, `bytes=${kept}-`);
      assert.equal(requests[1].status, 206);
      assert.equal(requests[1].bytes, size - kept);
      assert.deepEqual(await folderDifferences(fixture("blip"), dir), []);
    }),
  );
});

test("within one pull, a cut connection is retried and resumed automatically", async () => {
  await withHub(async (hub) =>
    withTempDir(async (cacheDir) => {
      const key = "tiny/kosmos-2/model.safetensors";
      hub.cutOnce(key, 1_000_000);
      const result = await pullModel("tiny/kosmos-2", opts(hub, cacheDir));
      const requests = hub.contentRequests(key);
      assert.equal(requests.length, 2);
      const resumedAt = Number(requests[1].range?.match(/^bytes=(\d+)-$/)?.[1]);
      assert.ok(resumedAt > 0 && resumedAt <= 1_000_000, `resumed at ${resumedAt}`);
      assert.equal(requests[1].bytes, (await safetensorsSize("kosmos-2")) - resumedAt);
      assert.deepEqual(await folderDifferences(fixture("kosmos-2"), result.dir), []);
    }),
  );
});

test("a file whose sha256 does not match is discarded, and the next pull gets it right", async () => {
  await withHub(async (hub) =>
    withTempDir(async (cacheDir) => {
      hub.corruptOnce("tiny/vit-gpt2/model.safetensors");
      await rejectsWith(resolveModel("tiny/vit-gpt2", opts(hub, cacheDir)), "HUB_FILE_CORRUPT", /sha256/);
      const snap = join(cacheDir, "tiny--vit-gpt2", "snapshots");
      const commit = (await readdir(snap))[0];
      const left = await readdir(join(snap, commit));
      assert.ok(!left.includes("model.safetensors"));
      assert.ok(!left.includes("model.safetensors.incomplete"));
      assert.deepEqual(await readdir(join(cacheDir, "tiny--vit-gpt2", "manifests")).catch(() => []), []);
      const dir = await resolveModel("tiny/vit-gpt2", opts(hub, cacheDir));
      assert.deepEqual(await folderDifferences(fixture("vit-gpt2"), dir), []);
    }),
  );
});

test("offline: a missing model names the pull command; a pulled one resolves without the hub", async () => {
  await withTempDir(async (cacheDir) => {
    await rejectsWith(
      resolveModel("blip-image-captioning-large", { cacheDir, offline: true }),
      "MODEL_NOT_DOWNLOADED",
      /sightline models pull blip-image-captioning-large/,
    );
    let dir = "";
    let endpoint = "";
    await withHub(async (hub) => {
      endpoint = hub.endpoint;
      dir = await resolveModel("tiny/vit-gpt2", opts(hub, cacheDir));
    });
    // The hub is gone now: offline mode finds the snapshot through refs.json.
    assert.equal(await resolveModel("tiny/vit-gpt2", { cacheDir, offline: true, endpoint }), dir);
    assert.equal(await resolveModel("tiny/vit-gpt2@main", { cacheDir, offline: true, endpoint }), dir);
    await rejectsWith(
      resolveModel("tiny/vit-gpt2@v2", { cacheDir, offline: true, endpoint }),
      "MODEL_NOT_DOWNLOADED",
    );
    // Online but unreachable: the earlier download is used, and said so.
    const events: PullEvent[] = [];
    const again = await resolveModel("tiny/vit-gpt2", {
      cacheDir,
      offline: false,
      endpoint,
      onProgress: (e) => events.push(e),
    });
    assert.equal(again, dir);
    assert.equal(events[0]?.type, "using-cache");
  });
});

test("a gated repo without a token says to set HF_TOKEN; with it the token never reaches the CDN", async () => {
  await withHub(async (hub) =>
    withTempDir(async (cacheDir) => {
      await rejectsWith(
        resolveModel("tiny/gated-blip", opts(hub, cacheDir)),
        "HUB_AUTH_REQUIRED",
        /gated or private repo: set HF_TOKEN/,
      );
      await rejectsWith(
        resolveModel("tiny/gated-blip", opts(hub, cacheDir, { token: "wrong" })),
        "HUB_AUTH_REQUIRED",
      );
      const dir = await resolveModel("tiny/gated-blip", opts(hub, cacheDir, { token }));
      assert.deepEqual(await folderDifferences(fixture("blip"), dir), []);
      const hubRequests = hub.log.filter((e) => e.host === "hub" && e.authorization === `Bearer ${token}`);
      assert.ok(hubRequests.length > 0);
      const cdnRequests = hub.log.filter((e) => e.host === "cdn");
      assert.ok(cdnRequests.length > 0);
      assert.ok(cdnRequests.every((e) => e.authorization === undefined));
    }),
  );
});

test("unknown repos and revisions are MODEL_NOT_FOUND", async () => {
  await withHub(async (hub) =>
    withTempDir(async (cacheDir) => {
      await rejectsWith(
        resolveModel("nobody/nothing", opts(hub, cacheDir)),
        "MODEL_NOT_FOUND",
        /nobody\/nothing/,
      );
      await rejectsWith(
        resolveModel("tiny/blip@no-such-branch", opts(hub, cacheDir)),
        "MODEL_NOT_FOUND",
        /revision/,
      );
    }),
  );
});

test("a revision such as refs/pr/1 is URL-encoded and cached under its own ref", async () => {
  await withHub(async (hub) =>
    withTempDir(async (cacheDir) => {
      const dir = await resolveModel("tiny/blip@refs/pr/1", opts(hub, cacheDir));
      assert.ok(dir.endsWith("1".repeat(40)));
      assert.ok(hub.log.some((e) => e.path.startsWith("/api/models/tiny/blip/revision/refs%2Fpr%2F1")));
      const refs = JSON.parse(await readFile(join(cacheDir, "tiny--blip", "refs.json"), "utf8"));
      assert.deepEqual(refs, { "refs/pr/1": "1".repeat(40) });
      assert.equal(await resolveModel("tiny/blip@refs/pr/1", { cacheDir, offline: true }), dir);
    }),
  );
});

test("safetensorsOnly: a repo with only pytorch_model.bin is refused before anything is downloaded", async () => {
  await withHub(async (hub) =>
    withTempDir(async (cacheDir) => {
      await rejectsWith(
        resolveModel("legacy/pickle-only", opts(hub, cacheDir, { safetensorsOnly: true })),
        "MODEL_WEIGHTS_PICKLE_ONLY",
        /pytorch_model\.bin.*--safetensors-only.*refs\/pr\/N/s,
      );
      assert.ok(hub.log.every((e) => e.path.startsWith("/api/")));
      assert.deepEqual(await readdir(cacheDir), []);
    }),
  );
});

test("a pytorch_model.bin that is no checkpoint is downloaded, refused, and leaves no snapshot", async () => {
  await withHub(async (hub) =>
    withTempDir(async (cacheDir) => {
      await rejectsWith(resolveModel("legacy/pickle-only", opts(hub, cacheDir)), "CHECKPOINT_INVALID");
      assert.equal(hub.contentRequests("legacy/pickle-only/pytorch_model.bin").length, 1);
      assert.deepEqual(await readdir(join(cacheDir, "legacy--pickle-only", "snapshots")), []);
      await rejectsWith(
        resolveModel("legacy/pickle-only", { cacheDir, offline: true }),
        "MODEL_NOT_DOWNLOADED",
      );
    }),
  );
});

test("two concurrent resolves of one model in one process download it once", async () => {
  await withHub(async (hub) =>
    withTempDir(async (cacheDir) => {
      hub.setChunkDelay(2);
      // Either one may take the lock first: one downloads, the other waits and downloads nothing.
      const events: [PullEvent[], PullEvent[]] = [[], []];
      const [a, b] = await Promise.all(
        events.map((log) =>
          resolveModel("tiny/vit-gpt2", opts(hub, cacheDir, { onProgress: (e) => log.push(e) })),
        ),
      );
      assert.equal(a, b);
      assert.equal(hub.contentRequests("tiny/vit-gpt2/model.safetensors").length, 1);
      assert.equal(hub.bytesSent("tiny/vit-gpt2/model.safetensors"), await safetensorsSize("vit-gpt2"));
      const downloaded = events.map((log) => log.some((e) => e.type === "file-start"));
      const waited = events.map((log) => log.some((e) => e.type === "waiting"));
      assert.deepEqual(downloaded.toSorted(), [false, true]);
      assert.deepEqual(
        waited,
        downloaded.map((d) => !d),
      );
      assert.deepEqual(await folderDifferences(fixture("vit-gpt2"), a), []);
    }),
  );
});

test("progress events add up to the files' sizes", async () => {
  await withHub(async (hub) =>
    withTempDir(async (cacheDir) => {
      const events: PullEvent[] = [];
      await pullModel("tiny/vit-gpt2", opts(hub, cacheDir, { onProgress: (e) => events.push(e) }));
      const resolved = events.find((e) => e.type === "resolved");
      assert.ok(resolved && resolved.type === "resolved");
      const last = events.filter((e) => e.type === "progress").at(-1);
      assert.ok(last && last.type === "progress");
      assert.equal(last.bytes, resolved.total);
      assert.equal(events.filter((e) => e.type === "file-done").length, resolved.files.length);
    }),
  );
});

test("a server that ignores Range gets a fresh start; a 503 is retried", async () => {
  await withHub(async (hub) =>
    withTempDir(async (cacheDir) => {
      const key = "tiny/florence-2/model.safetensors";
      const size = await safetensorsSize("florence-2");
      hub.cutOnce(key, 2_000_000);
      await rejectsWith(
        resolveModel("tiny/florence-2", opts(hub, cacheDir, { retries: 0 })),
        "HUB_DOWNLOAD_FAILED",
      );
      hub.ignoreRangeOnce(key);
      const dir = await resolveModel("tiny/florence-2", opts(hub, cacheDir));
      const requests = hub.contentRequests(key);
      assert.equal(requests.length, 2);
      assert.match(requests[1].range ?? "", /^bytes=\d+-$/);
      assert.equal(requests[1].status, 200);
      assert.equal(requests[1].bytes, size);
      assert.deepEqual(await folderDifferences(fixture("florence-2"), dir), []);

      hub.failOnce("tiny/vit-gpt2/tokenizer.json", 503);
      const vit = await resolveModel("tiny/vit-gpt2", opts(hub, cacheDir));
      const tokenizer = hub.contentRequests("tiny/vit-gpt2/tokenizer.json");
      assert.deepEqual(
        tokenizer.map((r) => r.status),
        [503, 200],
      );
      assert.deepEqual(await folderDifferences(fixture("vit-gpt2"), vit), []);
    }),
  );
});

test("without sizes in the listing, X-Linked-Size / X-Linked-Etag still catch a corrupted file", async () => {
  await withHub(async (hub) =>
    withTempDir(async (cacheDir) => {
      // A hub (or mirror) that ignores ?blobs=true: the listing has names only.
      const plainListing: typeof fetch = (input, init) =>
        fetch(String(input).replace("?blobs=true", ""), init);
      hub.corruptOnce("tiny/vit-gpt2/model.safetensors");
      await rejectsWith(
        resolveModel("tiny/vit-gpt2", opts(hub, cacheDir, { fetch: plainListing })),
        "HUB_FILE_CORRUPT",
        /sha256/,
      );
      const dir = await resolveModel("tiny/vit-gpt2", opts(hub, cacheDir, { fetch: plainListing }));
      assert.deepEqual(await folderDifferences(fixture("vit-gpt2"), dir), []);
      assert.ok(hub.log.some((e) => e.path === "/api/models/tiny/vit-gpt2/revision/main"));
    }),
  );
});
