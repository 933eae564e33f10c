// A stand-in for a Sightline server's POST /process_image: answers a caption derived from the image
// bytes (so every run and every server agrees), optionally slowly. Loopback only.
import { createServer, type Server } from "node:http";
import { createHash } from "node:crypto";
import type { AddressInfo } from "node:net";

export interface FakeCaptionServer {
  url: string;
  requests: number;
  /** Lets captions held by `holdAfter` go (and every later one). */
  release(): void;
  close(): Promise<void>;
}

export function captionFor(bytes: Buffer, prompt: string): string {
  const h = createHash("sha256").update(bytes).digest("hex").slice(0, 8);
  return prompt === "<GENERATE_TAGS>" ? `tag${h.slice(0, 2)}, shared tag` : `caption ${h}`;
}

/**
 * `holdAfter: n`: the first n captions are answered at once, later ones only after release(), so a
 * test can act while a run is known to be in the middle.
 */
export async function startFakeCaptionServer(
  opts: { delayMs?: number; holdAfter?: number } = {},
): Promise<FakeCaptionServer> {
  const state = { requests: 0, answered: 0 };
  let releaseHeld: () => void = () => undefined;
  const released = new Promise<void>((r) => (releaseHeld = r));
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      state.requests++;
      const answer = (status: number, json: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(json));
      };
      if (req.method !== "POST" || req.url !== "/process_image")
        return answer(404, { error: "not found", code: "NOT_FOUND" });
      const { image, prompt } = JSON.parse(body);
      const bytes = Buffer.from(image, "base64");
      const isImage =
        bytes[0] === 0x89 ||
        bytes[0] === 0xff ||
        bytes.subarray(0, 4).toString() === "RIFF" ||
        bytes[0] === 0x49 ||
        bytes[0] === 0x4d;
      if (!isImage || bytes.length < 64)
        return answer(400, { error: "invalid image", code: "IMAGE_INVALID" });
      const send = () =>
        setTimeout(() => answer(200, { result: captionFor(bytes, prompt) }), opts.delayMs ?? 0);
      state.answered++;
      if (opts.holdAfter !== undefined && state.answered > opts.holdAfter) void released.then(send);
      else send();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    release: () => releaseHeld(),
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections(); // clients keep connections alive
      }),
  };
}
