// What the hub client makes of answers that are not what the hub sends (issue 18, finding 4): a
// captive portal's HTML page or a proxy's error text instead of the repo's JSON is
// HUB_DOWNLOAD_FAILED quoting only its start, never the raw bytes (a 500 INTERNAL before).
import { test } from "node:test";
import assert from "node:assert/strict";
import { tempDir } from "../helpers/temp-dir.js";
import { pullModel } from "../../src/hub/index.js";
import { isSightlineError } from "../../src/errors.js";

test("a repo answer that is not JSON: HUB_DOWNLOAD_FAILED, its start quoted, not its bytes", async () => {
  const cacheDir = tempDir("sightline-hub-");
  for (const [body, type] of [
    ["<!DOCTYPE html><html><body>Please log in to the Wi-Fi" + "x".repeat(1_000_000), "text/html"],
    ["\u0000\u0001binary" + "\u00ff".repeat(100_000), "application/octet-stream"],
    ["", "application/json"],
  ] as const) {
    const fetchStub = (async () =>
      new Response(body, { status: 200, headers: { "content-type": type } })) as typeof fetch;
    await assert.rejects(
      pullModel("owner/name", {
        endpoint: "http://hub.test",
        cacheDir,
        offline: false,
        token: "",
        fetch: fetchStub,
      }),
      (e) => {
        assert.ok(isSightlineError(e), String(e));
        assert.equal(e.code, "HUB_DOWNLOAD_FAILED");
        assert.match(e.message, /owner\/name@main on http:\/\/hub\.test: the answer is not JSON/);
        assert.ok(e.message.length < 300, `${e.message.length} characters`);
        return true;
      },
    );
  }
});
