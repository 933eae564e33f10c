// The end-to-end promise of a pull: a model fetched from the (fake) hub captions exactly like the
// fixture folder it came from, with the token ids and text that HF produced.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { readImageFile } from "../../src/images/decode.js";
import { loadModel } from "../../src/models/index.js";
import { resolveModel } from "../../src/hub/index.js";
import { startFakeHub } from "../helpers/hub-server.js";
import { fixture, withTempDir } from "./fixture-files.js";

interface Generation {
  name: string;
  kwargs: { max_new_tokens?: number; num_beams?: number };
  sequences: number[][];
  text: string[];
}

for (const arch of ["vit-gpt2", "blip"]) {
  test(`${arch} pulled from the hub captions like HF on the fixture`, async () => {
    const expected = JSON.parse(await readFile(join(fixture(arch), "expected.json"), "utf8")) as {
      cases: { image: string; prompt?: string; generations: Generation[] }[];
    };
    const c = expected.cases.find((x) => x.prompt === undefined || x.prompt === null) ?? expected.cases[0];
    const greedy = c.generations.find((g) => g.name === "greedy")!;
    const hub = await startFakeHub({ [`tiny/${arch}`]: { dir: fixture(arch) } });
    try {
      await withTempDir(async (cacheDir) => {
        const dir = await resolveModel(`tiny/${arch}`, { endpoint: hub.endpoint, cacheDir, offline: false });
        assert.ok(dir.startsWith(cacheDir));
        const model = await loadModel(dir, { threads: 1 });
        try {
          const image = await readImageFile(join(fixture(arch), c.image));
          const result = await model.caption(image, {
            prompt: c.prompt ?? undefined,
            maxNewTokens: greedy.kwargs.max_new_tokens,
            numBeams: greedy.kwargs.num_beams,
          });
          assert.deepEqual(result.tokenIds, greedy.sequences[0]);
          assert.equal(result.text, greedy.text[0].trim());
        } finally {
          await model.dispose();
        }
      });
    } finally {
      await hub.close();
    }
  });
}
