// Fetches an image URL on a caller's behalf without letting the caller reach what the server can
// reach (SSRF). Per hop: only http/https; the host name is resolved here and every address it
// resolves to must pass the address filter; the connection goes to exactly that vetted address
// (the socket's DNS lookup is pinned, so a second, different answer cannot slip in); redirects are
// followed by hand and each target is vetted again. The whole fetch has one time limit and the
// body a byte limit, enforced while streaming.
import { lookup as dnsLookup } from "node:dns/promises";
import type { LookupAddress } from "node:dns";
import { isIP } from "node:net";
import { rootCertificates } from "node:tls";
import { Agent, request } from "undici";
import { clip, fail, failWith, isSightlineError } from "../errors.js";
import { checkAddress, type AddressVerdict } from "./address-filter.js";
import { sniffImageFormat } from "./decode.js";

export interface FetchImageOptions {
  /** `--allow-private-urls`: permit loopback/private/link-local targets (a NAS at home). */
  allowPrivate?: boolean;
  /** Byte limit of the body (default 20 MB). */
  maxBytes?: number;
  /** Time limit of the whole fetch, redirects included (default 15 s). */
  timeoutMs?: number;
  /** Redirects followed at most (default 5). */
  maxRedirects?: number;
  /** DNS resolution (tests inject one); default: the system resolver, all addresses. */
  resolve?: (hostname: string) => Promise<LookupAddress[]>;
  userAgent?: string;
  /** Extra CA certificates (PEM) trusted for https, on top of the system's (tests: a self-signed server). */
  ca?: string | Buffer;
  /** Replaces the address filter (tests: allow exactly one loopback address to test redirects). */
  addressCheck?: (address: string) => AddressVerdict;
}

export interface FetchedImage {
  bytes: Uint8Array;
  /** The URL the bytes finally came from (after redirects). */
  url: string;
  contentType?: string;
}

const defaults = { maxBytes: 20 * 1024 * 1024, timeoutMs: 15_000, maxRedirects: 5 };

async function systemResolve(hostname: string): Promise<LookupAddress[]> {
  return dnsLookup(hostname, { all: true, verbatim: true });
}

/** Parses and checks a URL a caller handed us: http or https with a host. */
export function parseImageUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw fail("URL_INVALID", `${JSON.stringify(clip(text))} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw fail("URL_INVALID", `only http and https URLs are fetched, not ${clip(url.protocol)}`);
  }
  if (!url.hostname) throw fail("URL_INVALID", `${clip(text)} has no host`);
  return url;
}

/** Resolves the URL's host and returns the one address to connect to, or throws URL_FORBIDDEN. */
async function vetHost(url: URL, options: FetchImageOptions): Promise<LookupAddress> {
  // WHATWG URL parsing already turned "127.1", "2130706433", "0x7f.1" into dotted quads.
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const family = isIP(host);
  let addresses: LookupAddress[];
  if (family) {
    addresses = [{ address: host, family }];
  } else {
    try {
      addresses = await (options.resolve ?? systemResolve)(host);
    } catch (e) {
      throw failWith(
        e,
        "URL_FETCH_FAILED",
        `cannot resolve ${clip(host)}: ${clip((e as Error).message, 200)}`,
      );
    }
    if (addresses.length === 0) throw fail("URL_FETCH_FAILED", `cannot resolve ${clip(host)}`);
  }
  // Every address must pass: a name that resolves to both a public and a private address is
  // refused rather than raced.
  for (const a of addresses) {
    const verdict = options.addressCheck
      ? options.addressCheck(a.address)
      : checkAddress(a.address, { allowPrivate: options.allowPrivate });
    if (!verdict.allowed) {
      const shown = family ? host : `${clip(host)} (${a.address})`;
      // The hint only where it is true: the flag is off and would open this address.
      const hint =
        verdict.allowedWithPrivate && !options.allowPrivate
          ? " (start the server with --allow-private-urls to allow it)"
          : "";
      throw fail("URL_FORBIDDEN", `${shown}: ${verdict.reason}${hint}`);
    }
  }
  return addresses[0]!;
}

/** An undici Agent whose every connection goes to `pinned`, whatever host name it is asked for. */
function pinnedAgent(pinned: LookupAddress, ca?: string | Buffer): Agent {
  const lookup = (
    _hostname: string,
    opts: { all?: boolean },
    callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    if (opts?.all) callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  };
  const trust = ca ? { ca: [...rootCertificates, ca] } : {};
  return new Agent({
    connect: { lookup, ...trust } as Record<string, unknown>,
    connections: 1,
    pipelining: 0,
  });
}

/** Drops a response body we will not read (its abort error is expected, not a failure). */
function discard(body: { on(event: "error", f: () => void): unknown; destroy(): unknown }): void {
  body.on("error", () => {});
  body.destroy();
}

function abortReason(signal: AbortSignal, timeoutMs: number, e: unknown): never {
  if (signal.aborted) throw fail("URL_FETCH_FAILED", `timed out after ${timeoutMs / 1000} s`);
  if (isSightlineError(e)) throw e;
  const err = e as Error & { code?: string; cause?: { code?: string; message?: string } };
  const detail = err.cause?.code ?? err.code ?? err.message;
  throw failWith(e, "URL_FETCH_FAILED", String(detail));
}

/** Downloads an image from a caller-supplied URL under the SSRF and size rules above. */
export async function fetchImageUrl(text: string, options: FetchImageOptions = {}): Promise<FetchedImage> {
  const maxBytes = options.maxBytes ?? defaults.maxBytes;
  const timeoutMs = options.timeoutMs ?? defaults.timeoutMs;
  const maxRedirects = options.maxRedirects ?? defaults.maxRedirects;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const { signal } = controller;
  let url = parseImageUrl(text);
  try {
    for (let hop = 0; ; hop++) {
      const pinned = await Promise.race([
        vetHost(url, options),
        new Promise<never>((_, reject) => {
          signal.addEventListener(
            "abort",
            () => reject(fail("URL_FETCH_FAILED", `timed out after ${timeoutMs / 1000} s`)),
            { once: true },
          );
        }),
      ]).catch((e) => abortReason(signal, timeoutMs, e));
      const agent = pinnedAgent(pinned, options.ca);
      try {
        const res = await request(url, {
          method: "GET",
          dispatcher: agent,
          signal,
          headers: { "user-agent": options.userAgent ?? "sightline", accept: "image/*" },
        }).catch((e) => abortReason(signal, timeoutMs, e));
        if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location) {
          discard(res.body);
          if (hop >= maxRedirects) throw fail("URL_FETCH_FAILED", `more than ${maxRedirects} redirects`);
          const location = String(res.headers.location);
          let next: URL;
          try {
            next = new URL(location, url);
          } catch {
            throw fail("URL_FETCH_FAILED", `bad redirect location ${clip(String(location))}`);
          }
          url = parseImageUrl(next.href);
          continue;
        }
        if (res.statusCode < 200 || res.statusCode >= 300) {
          discard(res.body);
          throw fail("URL_FETCH_FAILED", `HTTP ${res.statusCode} from ${clip(url.host)}`);
        }
        const contentType = res.headers["content-type"] ? String(res.headers["content-type"]) : undefined;
        const declared = Number(res.headers["content-length"]);
        if (Number.isFinite(declared) && declared > maxBytes) {
          discard(res.body);
          throw fail("IMAGE_TOO_LARGE", `${declared} bytes, the limit is ${maxBytes}`);
        }
        const chunks: Buffer[] = [];
        let total = 0;
        let sniffed = false;
        try {
          for await (const chunk of res.body) {
            const buf = chunk as Buffer;
            total += buf.length;
            if (total > maxBytes) {
              discard(res.body);
              throw fail("IMAGE_TOO_LARGE", `more than ${maxBytes} bytes`);
            }
            chunks.push(buf);
            // Give up on an HTML page or JSON at its first bytes rather than downloading it all.
            if (!sniffed && total >= 32) {
              sniffed = true;
              if (!sniffImageFormat(Buffer.concat(chunks))) {
                discard(res.body);
                throw fail(
                  "IMAGE_INVALID",
                  `the URL did not return an image (${contentType ?? "no content type"})`,
                );
              }
            }
          }
        } catch (e) {
          abortReason(signal, timeoutMs, e);
        }
        const bytes = Buffer.concat(chunks, total);
        if (!sniffImageFormat(bytes)) {
          throw fail(
            "IMAGE_INVALID",
            `the URL did not return an image (${contentType ?? "no content type"})`,
          );
        }
        return { bytes, url: url.href, contentType };
      } finally {
        agent.close().catch(() => {});
      }
    }
  } finally {
    clearTimeout(timer);
  }
}
