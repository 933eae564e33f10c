// deploy/systemd: `systemd-analyze verify` accepts the unit with no warnings (where systemd is
// installed); the unit's stop timeout outlasts the default drain; every variable of the example
// environment file, commented examples included, is a `sightline serve` setting with a valid value.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseServeConfig, serveHelp } from "../../src/server/config.js";

const unitPath = fileURLToPath(new URL("../../deploy/systemd/sightline.service", import.meta.url));
const envPath = fileURLToPath(new URL("../../deploy/systemd/sightline.env", import.meta.url));
const unit = readFileSync(unitPath, "utf8");

const hasSystemd = spawnSync("systemd-analyze", ["--version"], { stdio: "ignore" }).status === 0;

test(
  "systemd-analyze verify accepts deploy/systemd/sightline.service without a warning",
  { skip: hasSystemd ? false : "systemd-analyze is not installed (Debian package systemd)" },
  (t) => {
    // verify checks that ExecStart's program exists: where node is not /usr/bin/node, check a copy
    // pointing at this Node (the rest of the unit unchanged).
    let checked = unitPath;
    const dir = mkdtempSync(join(tmpdir(), "sightline-unit-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    if (spawnSync("/usr/bin/node", ["--version"], { stdio: "ignore" }).status !== 0) {
      checked = join(dir, "sightline.service");
      writeFileSync(checked, unit.replace("ExecStart=/usr/bin/node ", `ExecStart=${process.execPath} `));
    }
    const r = spawnSync("systemd-analyze", ["verify", checked], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    // A value systemd cannot parse is only a warning ("…, ignoring"): none may appear.
    assert.equal((r.stdout + r.stderr).trim(), "", "no warnings");
  },
);

test("the unit stops with SIGTERM and waits longer than the default drain timeout", () => {
  const value = (key: string) => new RegExp(`^${key}=(.*)$`, "m").exec(unit)?.[1];
  assert.equal(value("KillSignal"), "SIGTERM");
  assert.equal(value("Restart"), "on-failure");
  const stopSeconds = Number(value("TimeoutStopSec"));
  assert.ok(stopSeconds > parseServeConfig([], {}).drainTimeout, `TimeoutStopSec ${stopSeconds}`);
  for (const key of ["NoNewPrivileges", "ProtectHome", "PrivateTmp"]) assert.equal(value(key), "yes");
  assert.equal(value("ProtectSystem"), "strict");
  assert.match(unit, /^User=sightline$/m);
  assert.match(unit, /^StateDirectory=sightline$/m);
  assert.match(unit, /^Environment=SIGHTLINE_MODELS_DIR=\/var\/lib\/sightline$/m);
});

test("sightline.env: every variable, commented examples too, is a serve setting with a valid value", () => {
  const known = new Set([...serveHelp().matchAll(/env (SIGHTLINE_\w+)/g)].map((m) => m[1]));
  const env: Record<string, string> = {};
  for (const line of readFileSync(envPath, "utf8").split("\n")) {
    const m = /^#?(SIGHTLINE_\w+)=(.*)$/.exec(line);
    if (!m) continue;
    assert.ok(known.has(m[1]!), `${m[1]} is not a sightline serve setting`);
    env[m[1]!] = m[2]!;
  }
  assert.ok(Object.keys(env).length >= 8);
  const config = parseServeConfig([], env);
  assert.equal(config.host, "0.0.0.0");
  assert.deepEqual(config.preload, ["kosmos-2"]);
});
