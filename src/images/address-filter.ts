// Which IP addresses the server may connect to when it fetches an image URL for a caller.
// Default: only globally routable unicast. Everything that reaches the machine itself, the local
// network, cloud metadata services or special-purpose ranges is refused, including IPv6 forms that
// embed an IPv4 address (IPv4-mapped, NAT64, 6to4, SIIT), which are judged by the IPv4 inside.
import ipaddr from "ipaddr.js";

export interface AddressPolicy {
  /** `--allow-private-urls`: also allow loopback, private, link-local and unique-local addresses. */
  allowPrivate?: boolean;
}

export type AddressVerdict =
  | { allowed: true }
  /** allowedWithPrivate: --allow-private-urls would let it through (not so metadata, 0.0.0.0, ::). */
  | { allowed: false; reason: string; allowedWithPrivate?: boolean };

// Cloud metadata endpoints stay refused even with allowPrivate: a home user fetching from a NAS
// never needs them, and they hand out credentials.
const metadataAddresses = new Set(["169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2"]);

// Ranges that --allow-private-urls opens (home networks, the machine itself).
const privateRanges = new Set(["loopback", "private", "linkLocal", "uniqueLocal", "carrierGradeNat"]);

/** Strips IPv6 brackets and a zone id ("fe80::1%eth0"). */
function bare(address: string): string {
  let a = address.trim();
  if (a.startsWith("[") && a.endsWith("]")) a = a.slice(1, -1);
  const zone = a.indexOf("%");
  return zone >= 0 ? a.slice(0, zone) : a;
}

/** The IPv4 address an IPv6 address stands for, when its range embeds one. */
function embeddedIPv4(v6: ipaddr.IPv6, range: string): ipaddr.IPv4 | undefined {
  const p = v6.parts;
  switch (range) {
    case "ipv4Mapped": // ::ffff:a.b.c.d
    case "rfc6145": // ::ffff:0:a.b.c.d (SIIT)
    case "rfc6052": // 64:ff9b::a.b.c.d (NAT64)
      return ipaddr.IPv4.parse(`${p[6] >> 8}.${p[6] & 255}.${p[7] >> 8}.${p[7] & 255}`);
    case "6to4": // 2002:AABB:CCDD::
      return ipaddr.IPv4.parse(`${p[1] >> 8}.${p[1] & 255}.${p[2] >> 8}.${p[2] & 255}`);
    default:
      return undefined;
  }
}

/** Whether the literal IP `address` (v4 or v6, brackets allowed) may be connected to. */
export function checkAddress(address: string, policy: AddressPolicy = {}): AddressVerdict {
  const text = bare(address);
  if (!ipaddr.isValid(text)) return { allowed: false, reason: `not an IP address: ${address}` };
  let ip = ipaddr.parse(text);
  let range = ip.range() as string;
  // IPv4 compatible (deprecated ::a.b.c.d) addresses: judge by the IPv4 as well.
  if (ip.kind() === "ipv6") {
    const v6 = ip as ipaddr.IPv6;
    const inner = embeddedIPv4(v6, range);
    if (inner) {
      ip = inner;
      range = inner.range();
    } else if (range === "unicast" && v6.parts.slice(0, 6).every((x) => x === 0)) {
      // ::a.b.c.d — IPv4-compatible (deprecated); never globally routed.
      return { allowed: false, reason: `${address} is an IPv4-compatible IPv6 address` };
    }
  }
  const normal = ip.toString();
  if (metadataAddresses.has(normal) || metadataAddresses.has(ipaddr.parse(text).toString())) {
    return { allowed: false, reason: `${address} is a cloud metadata address` };
  }
  if (range === "unicast") return { allowed: true };
  if (policy.allowPrivate && privateRanges.has(range)) return { allowed: true };
  return {
    allowed: false,
    reason: `${address} is a ${range} address`,
    allowedWithPrivate: privateRanges.has(range),
  };
}

export function isAddressAllowed(address: string, policy: AddressPolicy = {}): boolean {
  return checkAddress(address, policy).allowed;
}
