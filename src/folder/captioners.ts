// The two ways caption-folder captions: a model loaded in this process, or Sightline servers.
import { readFile } from "node:fs/promises";
import { fail, SightlineError } from "../errors.js";
import { readImageFile } from "../images/decode.js";
import { loadModel } from "../models/index.js";
import type { CaptionOptions, LoadOptions } from "../models/types.js";
import { CaptionerUnusableError, type Captioner } from "./run.js";

/** A model in this process. Inference runs one image at a time (it already uses every core). */
export async function modelCaptioner(
  folder: string,
  options: Omit<CaptionOptions, "prompt"> = {},
  load: LoadOptions = {},
): Promise<Captioner> {
  const model = await loadModel(folder, load);
  let chain: Promise<unknown> = Promise.resolve();
  return {
    name: `model:${folder}`,
    slots: 2, // one image decodes while the other runs
    async caption(path, prompt) {
      const image = await readImageFile(path);
      const run = chain.then(() => model.caption(image, { ...options, prompt }));
      chain = run.catch(() => undefined);
      return (await run).text;
    },
    close: () => model.dispose(),
  };
}

export interface ServerCaptionerOptions {
  apiKey?: string;
  model?: string;
  slots?: number;
  timeoutMs?: number;
}

/**
 * A Sightline server. Without a model name it speaks the Florence server's API (POST /process_image,
 * the server's Florence model); with one, the OpenAI chat API, which picks any configured model.
 */
export function serverCaptioner(baseUrl: string, opts: ServerCaptionerOptions = {}): Captioner {
  const base = baseUrl.replace(/\/+$/, "");
  return {
    name: `server:${base}${opts.model ? `#${opts.model}` : ""}`,
    slots: opts.slots ?? 2,
    async caption(path, prompt) {
      const bytes = await readFile(path);
      try {
        return await (opts.model
          ? captionByChat(base, bytes, opts.model, prompt, opts)
          : captionByFlorenceApi(base, bytes, prompt, opts));
      } catch (e) {
        if (e instanceof ServerAnswerError && e.meansUnusable()) {
          throw new CaptionerUnusableError(e.message, { cause: e });
        }
        throw e;
      }
    },
    close: async () => {},
  };
}

/** Answers that are about the server (no such model or endpoint, no access), not about the image. */
const serverSideCodes = new Set([
  "MODEL_NOT_CONFIGURED",
  "MODEL_NOT_FOUND",
  "MODEL_NOT_DOWNLOADED",
  "ROUTE_NOT_FOUND",
  "UNAUTHORIZED",
  "HUB_AUTH_REQUIRED",
  "HUB_DOWNLOAD_FAILED",
]);

/** A server's error answer, keeping its HTTP status and error code. */
export class ServerAnswerError extends SightlineError {
  constructor(
    message: string,
    readonly httpStatus: number,
    readonly remoteCode: string,
  ) {
    super("SERVER_ERROR", message);
  }

  /** True when asking this server again, with any image, would get the same answer. */
  meansUnusable(): boolean {
    return [401, 403, 404].includes(this.httpStatus) || serverSideCodes.has(this.remoteCode);
  }
}

export async function captionByFlorenceApi(
  base: string,
  image: Uint8Array,
  prompt: string | undefined,
  opts: { apiKey?: string; timeoutMs?: number } = {},
): Promise<string> {
  const body = { image: Buffer.from(image).toString("base64"), prompt: prompt ?? "<CAPTION>" };
  const answer = await postJson(`${base}/process_image`, body, opts);
  if (typeof answer.result === "string") return answer.result;
  if (answer.result !== undefined) return JSON.stringify(answer.result);
  throw fail("BAD_REQUEST", `${base}/process_image answered without a result`);
}

export async function captionByChat(
  base: string,
  image: Uint8Array,
  model: string,
  prompt: string | undefined,
  opts: { apiKey?: string; timeoutMs?: number } = {},
): Promise<string> {
  const mime = sniffMime(image);
  const content: unknown[] = [
    { type: "image_url", image_url: { url: `data:${mime};base64,${Buffer.from(image).toString("base64")}` } },
  ];
  if (prompt) content.unshift({ type: "text", text: prompt });
  const answer = await postJson(
    `${base}/v1/chat/completions`,
    { model, messages: [{ role: "user", content }] },
    opts,
  );
  const text = answer?.choices?.[0]?.message?.content;
  if (typeof text !== "string")
    throw fail("BAD_REQUEST", `${base}/v1/chat/completions answered without a message`);
  return text;
}

function sniffMime(b: Uint8Array): string {
  if (b[0] === 0x89 && b[1] === 0x50) return "image/png";
  if (b[0] === 0xff && b[1] === 0xd8) return "image/jpeg";
  if (b[0] === 0x47 && b[1] === 0x49) return "image/gif";
  if (b[8] === 0x57 && b[9] === 0x45) return "image/webp";
  if ((b[0] === 0x49 && b[1] === 0x49) || (b[0] === 0x4d && b[1] === 0x4d)) return "image/tiff";
  return "application/octet-stream";
}

export async function postJson(
  url: string,
  body: unknown,
  opts: { apiKey?: string; timeoutMs?: number } = {},
): Promise<any> {
  return requestJson(url, { method: "POST", body: JSON.stringify(body) }, opts);
}

export async function requestJson(
  url: string,
  init: { method: string; body?: string },
  opts: { apiKey?: string; timeoutMs?: number } = {},
): Promise<any> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (init.body) headers["content-type"] = "application/json";
  if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers, signal: AbortSignal.timeout(opts.timeoutMs ?? 600_000) });
  } catch (e) {
    throw new SightlineError(
      "SERVER_UNREACHABLE",
      `cannot reach ${url}: ${(e as Error).cause ?? (e as Error).message}`,
    );
  }
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SightlineError(
      "SERVER_UNREACHABLE",
      `${url} answered ${res.status} with non-JSON: ${text.slice(0, 200)}`,
    );
  }
  if (!res.ok) {
    const code = typeof json?.code === "string" ? json.code : `HTTP_${res.status}`;
    const message = json?.error?.message ?? json?.error ?? text;
    throw new ServerAnswerError(`${url}: ${res.status} ${code}: ${message}`, res.status, code);
  }
  return json;
}
