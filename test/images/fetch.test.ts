// SSRF-safe URL fetching, end to end against local test servers only. Every refusal test targets
// loopback (so even a broken guard would not send a packet off this machine) and asserts that the
// target server saw no connection at all.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fetchImageUrl } from "../../src/images/fetch.js";
import { isSightlineError } from "../../src/errors.js";
import { png } from "../server/helpers.js";

interface Target {
  server: Server;
  port: number;
  connections: number;
  requests: string[];
}

let image: Buffer;
let target: Target; // 127.0.0.1 (and ::1 when the machine has IPv6 loopback)
let other: Target; // 127.0.0.2: a different loopback address, for redirect tests

async function listen(
  host: string,
  handler: (path: string, res: import("node:http").ServerResponse) => void,
): Promise<Target> {
  const t: Target = { server: createServer(), port: 0, connections: 0, requests: [] };
  t.server.on("connection", () => void t.connections++);
  t.server.on("request", (req, res) => {
    t.requests.push(req.url ?? "");
    handler(req.url ?? "", res);
  });
  await new Promise<void>((resolve, reject) => {
    t.server.once("error", reject);
    t.server.listen({ host, port: 0, ipv6Only: false }, () => resolve());
  });
  t.port = (t.server.address() as AddressInfo).port;
  return t;
}

function routes(path: string, res: import("node:http").ServerResponse) {
  if (path === "/image.png") return res.writeHead(200, { "content-type": "image/png" }).end(image);
  if (path === "/page.html")
    return res
      .writeHead(200, { "content-type": "text/html" })
      .end("<html><body>" + "x".repeat(100) + "</body></html>");
  if (path === "/big")
    return res
      .writeHead(200, { "content-type": "image/png" })
      .end(Buffer.concat([image, Buffer.alloc(300_000)]));
  if (path === "/big-chunked") {
    res.writeHead(200, { "content-type": "image/png" });
    res.write(image);
    for (let i = 0; i < 40; i++) res.write(Buffer.alloc(10_000));
    return res.end();
  }
  if (path === "/stall") {
    res.writeHead(200, { "content-type": "image/png" });
    res.write(image.subarray(0, 40));
    return; // never ends
  }
  if (path === "/missing") return res.writeHead(404).end("no");
  if (path === "/loop") return res.writeHead(302, { location: "/loop" }).end();
  if (path === "/hop") return res.writeHead(301, { location: "/image.png" }).end();
  const m = /^\/redirect\?to=(.*)$/.exec(path);
  if (m) return res.writeHead(302, { location: decodeURIComponent(m[1]!) }).end();
  res.writeHead(404).end();
}

let hasIpv6 = true;

before(async () => {
  image = await png(8, 6);
  try {
    target = await listen("::", routes); // dual stack: 127.0.0.1 and ::1
  } catch {
    hasIpv6 = false;
    target = await listen("127.0.0.1", routes);
  }
  other = await listen("127.0.0.2", routes);
});

after(() => {
  target.server.closeAllConnections();
  other.server.closeAllConnections();
  target.server.close();
  other.server.close();
});

function code(e: unknown): string | undefined {
  return isSightlineError(e) ? e.code : (e as Error).message;
}

async function refusedWithoutContact(url: string, expected = "URL_FORBIDDEN", t: Target = target) {
  const before = t.connections;
  await assert.rejects(fetchImageUrl(url), (e) => {
    assert.equal(code(e), expected, `${url}: ${(e as Error).message}`);
    return true;
  });
  assert.equal(t.connections, before, `${url} must not reach the server`);
}

test("loopback targets are refused before any connection: 127.0.0.1, localhost, [::1], 127.1, 2130706433, 0x7f.1", async () => {
  const p = target.port;
  for (const host of [
    "127.0.0.1",
    "localhost",
    "127.1",
    "2130706433",
    "0x7f.1",
    "0177.0.0.1",
    "127.000.000.001",
  ]) {
    await refusedWithoutContact(`http://${host}:${p}/image.png`);
  }
  await refusedWithoutContact(`http://[::1]:${p}/image.png`);
  await refusedWithoutContact(`http://[::ffff:127.0.0.1]:${p}/image.png`);
  await refusedWithoutContact(`https://127.0.0.1:${p}/image.png`);
  assert.equal(target.requests.length, 0);
});

test("a redirect to another loopback port/address is refused before connecting there", async () => {
  // Only 127.0.0.1 is allowed here (a stand-in for a public host); every hop is re-vetted.
  const onlyFirst = (a: string) =>
    a === "127.0.0.1" ? ({ allowed: true } as const) : ({ allowed: false, reason: `${a} refused` } as const);
  for (const to of [
    `http://127.0.0.2:${other.port}/image.png`,
    `http://[::1]:${other.port}/image.png`,
    `http://2130706434:${other.port}/image.png`,
  ]) {
    const before = other.connections;
    const url = `http://127.0.0.1:${target.port}/redirect?to=${encodeURIComponent(to)}`;
    await assert.rejects(fetchImageUrl(url, { addressCheck: onlyFirst }), (e) => code(e) === "URL_FORBIDDEN");
    assert.equal(other.connections, before, `${to} must not be contacted`);
  }
  // A redirect to a non-http scheme is refused too.
  const url = `http://127.0.0.1:${target.port}/redirect?to=${encodeURIComponent("file:///etc/passwd")}`;
  await assert.rejects(fetchImageUrl(url, { addressCheck: onlyFirst }), (e) => code(e) === "URL_INVALID");
  // Same-host redirects are followed.
  const ok = await fetchImageUrl(`http://127.0.0.1:${target.port}/hop`, { addressCheck: onlyFirst });
  assert.deepEqual(Buffer.from(ok.bytes), image);
});

test("with allowPrivate, a 127.0.0.1 server is fetched (a NAS at home)", async () => {
  const got = await fetchImageUrl(`http://127.0.0.1:${target.port}/image.png`, { allowPrivate: true });
  assert.deepEqual(Buffer.from(got.bytes), image);
  assert.equal(got.contentType, "image/png");
  if (hasIpv6) {
    const v6 = await fetchImageUrl(`http://[::1]:${target.port}/image.png`, { allowPrivate: true });
    assert.deepEqual(Buffer.from(v6.bytes), image);
  }
});

test("the connection goes to the vetted address: no second DNS lookup", async () => {
  let lookups = 0;
  const resolve = async (host: string) => {
    lookups++;
    assert.equal(host, "photos.nas.test");
    return [{ address: "127.0.0.1", family: 4 }];
  };
  // photos.nas.test does not exist in any DNS: the fetch only works if the socket uses our answer.
  const got = await fetchImageUrl(`http://photos.nas.test:${target.port}/image.png`, {
    allowPrivate: true,
    resolve,
  });
  assert.deepEqual(Buffer.from(got.bytes), image);
  assert.equal(lookups, 1);
});

test("a name resolving to any forbidden address is refused (mixed public/private answers)", async () => {
  const before = target.connections;
  const resolve = async () => [
    { address: "93.184.216.34", family: 4 },
    { address: "127.0.0.1", family: 4 },
  ];
  await assert.rejects(
    fetchImageUrl(`http://mixed.test:${target.port}/image.png`, { resolve }),
    (e) => code(e) === "URL_FORBIDDEN",
  );
  const metadata = async () => [{ address: "169.254.169.254", family: 4 }];
  await assert.rejects(
    fetchImageUrl(`http://metadata.test:${target.port}/`, { resolve: metadata, allowPrivate: true }),
    (e) => code(e) === "URL_FORBIDDEN",
  );
  assert.equal(target.connections, before);
});

test("limits: bytes (declared and streamed), time, redirects; not-an-image; HTTP errors; schemes", async () => {
  const base = `http://127.0.0.1:${target.port}`;
  const opts = { allowPrivate: true };
  await assert.rejects(
    fetchImageUrl(`${base}/big`, { ...opts, maxBytes: 100_000 }),
    (e) => code(e) === "IMAGE_TOO_LARGE",
  );
  await assert.rejects(
    fetchImageUrl(`${base}/big-chunked`, { ...opts, maxBytes: 100_000 }),
    (e) => code(e) === "IMAGE_TOO_LARGE",
  );
  const started = Date.now();
  await assert.rejects(fetchImageUrl(`${base}/stall`, { ...opts, timeoutMs: 300 }), (e) => {
    assert.equal(code(e), "URL_FETCH_FAILED");
    assert.match((e as Error).message, /timed out/);
    return true;
  });
  assert.ok(Date.now() - started < 2000);
  await assert.rejects(fetchImageUrl(`${base}/loop`, { ...opts, maxRedirects: 3 }), /more than 3 redirects/);
  await assert.rejects(fetchImageUrl(`${base}/page.html`, opts), (e) => code(e) === "IMAGE_INVALID");
  await assert.rejects(fetchImageUrl(`${base}/missing`, opts), /HTTP 404/);
  for (const url of [
    "ftp://example.com/a.png",
    "file:///etc/passwd",
    "gopher://x/",
    "javascript:alert(1)",
    "not a url",
    "http://",
  ]) {
    await assert.rejects(fetchImageUrl(url, opts), (e) => code(e) === "URL_INVALID", url);
  }
  // Nothing listens on port 1: a clean error, not a crash.
  await assert.rejects(
    fetchImageUrl("http://127.0.0.1:1/x.png", opts),
    (e) => code(e) === "URL_FETCH_FAILED",
  );
});
