// The SSRF address filter, judged on literal addresses only: no packet is ever sent here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkAddress, isAddressAllowed } from "../../src/images/address-filter.js";

const refusedAlways = [
  "0.0.0.0",
  "0.1.2.3",
  "255.255.255.255",
  "224.0.0.1",
  "239.255.255.250", // unspecified, broadcast, multicast
  "169.254.169.254",
  "169.254.170.2",
  "100.100.100.200", // cloud metadata (AWS/GCP/Azure, ECS, Alibaba)
  "192.0.2.1",
  "198.51.100.7",
  "203.0.113.9",
  "198.18.0.1",
  "240.0.0.1",
  "192.0.0.8", // reserved / test nets
  "::",
  "ff02::1",
  "ff05::1:3", // IPv6 unspecified, multicast
  "fd00:ec2::254", // AWS IPv6 metadata
  "2001:db8::1",
  "100::1",
  "2001:2::1", // documentation, discard, benchmarking
  "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo
  "::ffff:0.0.0.0",
  "::ffff:169.254.169.254",
  "64:ff9b::169.254.169.254", // embedded metadata / unspecified
];

const refusedUnlessPrivate = [
  "127.0.0.1",
  "127.1.2.3",
  "10.0.0.1",
  "10.255.255.255",
  "172.16.0.1",
  "172.31.255.254",
  "192.168.1.10",
  "169.254.1.1",
  "100.64.0.1",
  "100.127.255.254", // loopback, RFC 1918, link-local, CGNAT
  "::1",
  "fe80::1",
  "fe80::1%eth0",
  "fc00::1",
  "fd12:3456:789a::1", // IPv6 loopback, link-local, ULA
  "::ffff:127.0.0.1",
  "::ffff:7f00:1",
  "::ffff:10.1.2.3",
  "::ffff:192.168.0.1", // IPv4-mapped
  "64:ff9b::127.0.0.1",
  "64:ff9b::a00:1",
  "64:ff9b:1::192.168.1.1", // NAT64 (RFC 6052 / 8215)
  "2002:7f00:1::",
  "2002:c0a8:101::1", // 6to4 wrapping loopback / private
  "::ffff:0:127.0.0.1", // SIIT (RFC 6145)
  "[::1]",
  "[::ffff:127.0.0.1]",
];

const allowed = [
  "8.8.8.8",
  "1.1.1.1",
  "93.184.216.34",
  "172.15.255.255",
  "172.32.0.1",
  "192.169.0.1",
  "100.63.255.255",
  "100.128.0.1",
  "169.253.255.255",
  "11.0.0.1",
  "223.255.255.255",
  "2606:4700:4700::1111",
  "2001:4860:4860::8888",
  "2a00:1450:4001:82b::200e",
  "::ffff:8.8.8.8",
  "64:ff9b::8.8.8.8",
  "2002:808:808::1", // embedded public IPv4
];

test("refused whatever the policy: unspecified, multicast, broadcast, reserved, metadata", () => {
  for (const a of refusedAlways) {
    assert.equal(isAddressAllowed(a), false, a);
    assert.equal(isAddressAllowed(a, { allowPrivate: true }), false, `${a} with allowPrivate`);
  }
});

test("loopback, private, link-local, ULA and their IPv6 wrappings: refused unless allowPrivate", () => {
  for (const a of refusedUnlessPrivate) {
    assert.equal(isAddressAllowed(a), false, a);
    assert.equal(isAddressAllowed(a, { allowPrivate: true }), true, `${a} with allowPrivate`);
  }
});

test("public unicast addresses are allowed (IPv4, IPv6, IPv4 inside IPv6)", () => {
  for (const a of allowed) assert.equal(isAddressAllowed(a), true, a);
});

test("the verdict says why, and non-addresses are refused", () => {
  const v = checkAddress("10.1.2.3");
  assert.equal(v.allowed, false);
  assert.match((v as { reason: string }).reason, /private/);
  assert.match((checkAddress("169.254.169.254") as { reason: string }).reason, /metadata/);
  assert.equal(isAddressAllowed("localhost"), false);
  assert.equal(isAddressAllowed("999.1.1.1"), false);
  assert.equal(isAddressAllowed(""), false);
  // IPv4-compatible (deprecated) ::a.b.c.d is never routed
  assert.equal(isAddressAllowed("::7f00:1"), false);
});
