// deploy/haproxy/haproxy.cfg with Debian's HAProxy, as a user would run it: `haproxy -c` accepts
// the shipped file; then a config derived from it (only the addresses changed: loopback ports,
// the three replicas, no DNS) in front of three real `sightline serve` replicas with the tiny
// vit-gpt2 fixture model. 30 captions through it are right and spread over the replicas; during
// 30 more, one replica is killed (SIGKILL) and one drained (SIGTERM): every answer is 200.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fixtureDir, seedText } from "../helpers/fixtures.js";
import { freePort, startServe, type ServeProcess } from "./serve-process.js";

const shippedCfg = fileURLToPath(new URL("../../deploy/haproxy/haproxy.cfg", import.meta.url));
const haproxyBin = ["/usr/sbin/haproxy", "haproxy"].find(
  (bin) => spawnSync(bin, ["-v"], { stdio: "ignore" }).status === 0,
);
const skip = haproxyBin
  ? false
  : "haproxy is not installed (scripts/ci-system-deps.sh installs Debian's haproxy)";

test("haproxy -c accepts deploy/haproxy/haproxy.cfg", { skip }, () => {
  const r = spawnSync(haproxyBin!, ["-c", "-f", shippedCfg], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /Configuration file is valid/);
});

interface Ports {
  frontend: number;
  florence: number;
  stats: number;
  replicas: number[];
}

/** The shipped config with only its addresses changed; each change must apply exactly once. */
function deriveTestConfig(shipped: string, ports: Ports): string {
  let cfg = shipped;
  const swap = (pattern: RegExp, by: string | ((...m: string[]) => string), times = 1) => {
    const found = cfg.match(new RegExp(pattern.source, "gm"))?.length ?? 0;
    assert.equal(found, times, `the shipped haproxy.cfg has ${pattern} ${times}× (found ${found})`);
    cfg = cfg.replace(new RegExp(pattern.source, "gm"), by as string);
  };
  swap(/^(\s*bind) :5000$/, `$1 127.0.0.1:${ports.frontend}`);
  swap(/^(\s*bind) :54880$/, `$1 127.0.0.1:${ports.florence}`);
  swap(/^(\s*bind) 127\.0\.0\.1:8404$/, `$1 127.0.0.1:${ports.stats}`);
  let n = 0;
  swap(/^(\s*server \S+) \S+$/, (_m, head) => `${head} 127.0.0.1:${ports.replicas[n++]}`, 3);
  // Loopback addresses need no DNS: no resolvers section, so nothing leaves the machine.
  swap(/^resolvers system\n(?:[ \t]+.*\n)+/, "");
  swap(/ resolvers system$/, "");
  return cfg;
}

interface ServerRow {
  name: string;
  status: string;
  /** Requests (sessions) it was given. */
  total: number;
}

async function backendServers(statsPort: number): Promise<ServerRow[]> {
  const csv = await (await fetch(`http://127.0.0.1:${statsPort}/;csv`)).text();
  const [header, ...rows] = csv.trim().split("\n");
  const cols = header!.replace(/^# /, "").split(",");
  const at = (row: string[], col: string) => row[cols.indexOf(col)]!;
  return rows
    .map((r) => r.split(","))
    .filter((r) => at(r, "pxname") === "sightline" && !["BACKEND", "FRONTEND"].includes(at(r, "svname")))
    .map((r) => ({ name: at(r, "svname"), status: at(r, "status"), total: Number(at(r, "stot")) }));
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (haproxyExited) throw new Error(`haproxy exited:\n${haproxyLog}`);
    if (Date.now() > end) throw new Error(`${what}: not in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const model = fixtureDir("vit-gpt2");
const image = readFileSync(join(model, "image1.png")).toString("base64");
const expectedCaption = seedText("vit-gpt2");

let dir: string;
let replicas: ServeProcess[] = [];
let haproxy: ChildProcess | undefined;
let haproxyLog = "";
let haproxyExited = false;
let ports: Ports;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "sightline-haproxy-"));
  replicas = await Promise.all(
    [1, 2, 3].map(() =>
      startServe(["--model", `vit=${model}`, "--default-model", "vit", "--preload", "vit", "--threads", "1"]),
    ),
  );
  ports = {
    frontend: await freePort(),
    florence: await freePort(),
    stats: await freePort(),
    replicas: replicas.map((r) => r.port),
  };
  const cfg = join(dir, "haproxy.cfg");
  writeFileSync(cfg, deriveTestConfig(readFileSync(shippedCfg, "utf8"), ports));
  haproxy = spawn(haproxyBin!, ["-db", "-f", cfg], { stdio: ["ignore", "pipe", "pipe"] });
  haproxy.stdout!.on("data", (b: Buffer) => (haproxyLog += b.toString()));
  haproxy.stderr!.on("data", (b: Buffer) => (haproxyLog += b.toString()));
  haproxy.once("exit", () => (haproxyExited = true));
});

after(async () => {
  haproxy?.kill("SIGKILL");
  for (const r of replicas) r.child.kill("SIGKILL");
  await Promise.all(replicas.map((r) => r.exit));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  caption?: string;
  body: string;
}

async function caption(port: number): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/vision/describe`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ image }),
  });
  const body = await res.text();
  let parsed: { result?: { caption?: string } } = {};
  try {
    parsed = JSON.parse(body);
  } catch {
    // not JSON (an HAProxy error page): the status tells
  }
  return { status: res.status, caption: parsed.result?.caption, body };
}

/** `count` captions, `concurrency` at a time; `onAnswer(done)` after each. */
async function captions(
  count: number,
  concurrency: number,
  onAnswer: (done: number) => void = () => {},
): Promise<Answer[]> {
  const answers: Answer[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        answers.push(await caption(ports.frontend));
        onAnswer(answers.length);
      }
    }),
  );
  return answers;
}

test(
  "three replicas behind the shipped config: 30 right captions over ≥ 2 replicas; SIGKILL one and SIGTERM one during 30 more: all 200",
  { skip, timeout: 300_000 },
  async () => {
    assert.ok(haproxy && ports, "replicas and HAProxy started");
    // HAProxy's checks on /readyz find all three up once their --preload model is loaded.
    await until(async () => {
      try {
        return (await backendServers(ports.stats)).filter((s) => s.status === "UP").length === 3;
      } catch {
        return false; // HAProxy not listening yet
      }
    }, `all replicas UP in HAProxy\n${haproxyLog}`);

    const first = await captions(30, 6);
    for (const a of first) {
      assert.equal(a.status, 200, a.body);
      assert.equal(a.caption, expectedCaption);
    }
    const served = (await backendServers(ports.stats)).filter((s) => s.total > 0);
    assert.ok(served.length >= 2, `spread over ≥ 2 replicas: ${JSON.stringify(served)}`);

    const [killed, drained] = [replicas[0]!, replicas[1]!];
    const second = await captions(30, 6, (done) => {
      if (done === 5) killed.child.kill("SIGKILL");
      if (done === 10) drained.child.kill("SIGTERM");
    });
    const bad = second.filter((a) => a.status !== 200 || a.caption !== expectedCaption);
    assert.deepEqual(bad, [], `every answer 200 with the right caption\n${haproxyLog}`);
    assert.equal(await drained.exit, 0, "the drained replica exits 0");
    assert.ok(drained.logs.some((l) => /shutting down/.test(l)));
    // HAProxy took both out; the one left answers.
    await until(
      async () => (await backendServers(ports.stats)).filter((s) => s.status === "UP").length === 1,
      "two replicas DOWN in HAProxy",
    );
    const last = await caption(ports.frontend);
    assert.equal(last.status, 200);
  },
);
