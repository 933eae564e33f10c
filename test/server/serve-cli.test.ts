// The real `sightline serve` process: SIGTERM drains (queued requests finish, new connections
// are refused, exit 0), the drain timeout bounds it; settings from flags, env and a config file.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseServeConfig } from "../../src/server/config.js";
import { captionGate, fakeLoader, fakeModelDir, png, waitFor } from "./helpers.js";

const mainTs = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

interface Served {
  child: ChildProcess;
  base: string;
  exit: Promise<number | null>;
  logs: string[];
}

// Servers still running when the file's tests end (a failed test) are ended, or the file never would.
const started: ChildProcess[] = [];
after(() => {
  for (const child of started) if (child.exitCode === null) child.kill("SIGKILL");
});

async function serve(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, ["--import", "tsx", mainTs, "serve", "--port", "0", ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  const logs: string[] = [];
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const base = await new Promise<string>((resolve, reject) => {
    let buffered = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        logs.push(line);
        const m = /sightline listening on (http:\/\/[^"]+)"/.exec(line);
        if (m) resolve(m[1]!);
      }
    });
    child.stderr!.on("data", (chunk: Buffer) => logs.push(chunk.toString()));
    void exit.then((code) => reject(new Error(`serve exited ${code}: ${logs.join("\n")}`)));
    // An upper bound, not a wait: a loaded machine takes a while to compile and start the server.
    setTimeout(() => reject(new Error(`serve did not start: ${logs.join("\n")}`)), 120_000).unref();
  }).catch((e: unknown) => {
    child.kill("SIGKILL"); // a server left running would keep this test file from ending
    throw e;
  });
  return { child, base, exit, logs };
}

/** The server's sightline_queue_depth for `model`, read from /metrics. */
async function queueDepth(base: string, model: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = new RegExp(`^sightline_queue_depth\\{model="${model}"\\} (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

async function describe(base: string, image: string) {
  const res = await fetch(`${base}/api/v1/vision/describe`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ image }),
  });
  return { status: res.status, body: (await res.json()) as { result?: { caption: string }; code?: string } };
}

test("SIGTERM: queued requests finish, new connections are refused, exit code 0", async () => {
  const gate = captionGate();
  const model = fakeModelDir({ caption_gate: gate.dir });
  const s = await serve([
    "--model",
    `kosmos-2=${model}`,
    "--worker-loader",
    fakeLoader,
    "--drain-timeout",
    "20",
  ]);
  const image = (await png(5, 4)).toString("base64");
  const inFlight = [describe(s.base, image), describe(s.base, image), describe(s.base, image)];
  // All three have arrived: the first is running (held by the gate), two wait behind it.
  await waitFor(async () => gate.started(1) && (await queueDepth(s.base, "kosmos-2")) === 2, 120_000);
  s.child.kill("SIGTERM");
  await waitFor(() => s.logs.some((l) => l.includes("shutting down")), 120_000);
  gate.open();
  const answers = await Promise.all(inFlight);
  for (const a of answers) {
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.match(a.body.result!.caption, /^fake 5x4 /);
  }
  assert.equal(await s.exit, 0, s.logs.join("\n"));
  await assert.rejects(fetch(`${s.base}/healthz`), "no longer listening");
  assert.ok(s.logs.some((l) => l.includes("shutting down")));
});

test("SIGTERM with a short drain timeout: what is still queued gets 503, exit code 0", async () => {
  const gate = captionGate(); // never opened: the running caption outlasts the drain timeout
  const model = fakeModelDir({ caption_gate: gate.dir });
  const s = await serve([
    "--model",
    `kosmos-2=${model}`,
    "--worker-loader",
    fakeLoader,
    "--drain-timeout",
    "0.3",
  ]);
  const image = (await png(5, 4)).toString("base64");
  const inFlight = [describe(s.base, image), describe(s.base, image), describe(s.base, image)];
  await waitFor(async () => gate.started(1) && (await queueDepth(s.base, "kosmos-2")) === 2, 120_000);
  const started = Date.now();
  s.child.kill("SIGTERM");
  const answers = await Promise.all(inFlight);
  assert.equal(await s.exit, 0);
  assert.ok(Date.now() - started < 5000, "bounded by the drain timeout");
  assert.ok(
    answers.some((a) => a.status === 503 && a.body.code === "SHUTTING_DOWN"),
    JSON.stringify(answers),
  );
});

test("settings: flag > environment > config file > default; --model repeatable; bad values refused", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "sightline-config-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "sightline.json");
  writeFileSync(
    file,
    JSON.stringify({
      port: 6000,
      "idle-unload": 10,
      maxQueue: 3,
      models: { a: "/models/a" },
      allowPrivateUrls: true,
    }),
  );
  const c = parseServeConfig(["--config", file, "--port", "7000", "--model", "x=/m/x", "--model=y=/m/y"], {
    SIGHTLINE_PORT: "6500",
    SIGHTLINE_IDLE_UNLOAD: "20",
    SIGHTLINE_API_KEY: "k",
  });
  assert.equal(c.port, 7000);
  assert.equal(c.idleUnload, 20);
  assert.equal(c.maxQueue, 3);
  assert.equal(c.apiKey, "k");
  assert.equal(c.allowPrivateUrls, true);
  assert.deepEqual(c.models, { x: "/m/x", y: "/m/y" });
  assert.equal(c.host, "127.0.0.1");
  // PhotoPrism's 10-minute budget, model load and queue included.
  assert.equal(c.requestTimeout, 600);
  assert.equal(c.busyStatus, 429);
  assert.equal(c.nsfwModel, "MobileNetV2");
  assert.equal(c.nsfwThreshold, 0.75);
  assert.throws(() => parseServeConfig(["--busy-status", "500"], {}), /429 or 503/);
  assert.throws(() => parseServeConfig(["--nsfw-threshold", "0"], {}), /nsfw-threshold/);
  const fromEnv = parseServeConfig([], {
    SIGHTLINE_MODEL: "a=/d/a,b=/d/b",
    SIGHTLINE_ALLOW_PRIVATE_URLS: "1",
  });
  assert.deepEqual(fromEnv.models, { a: "/d/a", b: "/d/b" });
  assert.equal(fromEnv.allowPrivateUrls, true);
  assert.equal(
    parseServeConfig(["--no-allow-private-urls"], { SIGHTLINE_ALLOW_PRIVATE_URLS: "1" }).allowPrivateUrls,
    false,
  );
  for (const bad of [
    ["--port", "x"],
    ["--port", "70000"],
    ["--model", "noequals"],
    ["--wat"],
    ["stray"],
    ["--idle-unload"],
  ]) {
    assert.throws(() => parseServeConfig(bad, {}), /invalid argument/, bad.join(" "));
  }
  writeFileSync(file, JSON.stringify({ colour: "blue" }));
  assert.throws(() => parseServeConfig(["--config", file], {}), /unknown setting colour/);
});

test("Ctrl-C to the whole process group drains too: workers ignore it, the server finishes the queue", async () => {
  const gate = captionGate();
  const model = fakeModelDir({ caption_gate: gate.dir });
  const s = await serve(["--model", `kosmos-2=${model}`, "--worker-loader", fakeLoader]);
  const image = (await png(5, 4)).toString("base64");
  const inFlight = [describe(s.base, image), describe(s.base, image)];
  await waitFor(async () => gate.started(1) && (await queueDepth(s.base, "kosmos-2")) === 1, 120_000);
  // What a terminal does on Ctrl-C: SIGINT to every process of the group (server and workers).
  const { execFileSync } = await import("node:child_process");
  const workers = execFileSync("pgrep", ["-P", String(s.child.pid)])
    .toString()
    .trim()
    .split("\n")
    .map(Number);
  for (const pid of [s.child.pid!, ...workers]) process.kill(pid, "SIGINT");
  await waitFor(() => s.logs.some((l) => l.includes("shutting down")), 120_000);
  gate.open();
  for (const a of await Promise.all(inFlight)) assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.equal(await s.exit, 0);
});
