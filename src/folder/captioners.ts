// The two ways caption-folder captions: a model loaded in this process, or Sightline servers.
import { readFile } from "node:fs/promises";
import { fail, SightlineError } from "../errors.js";
import { readImageFile } from "../images/decode.js";
import { loadModel } from "../models/index.js";
import type { CaptionOptions } from "../models/types.js";
import type { Captioner } from "./run.js";

/** A model in this process. Inference runs one image at a time (it already uses every core). */
export async function modelCaptioner(folder: string, options: Omit<CaptionOptions, "prompt"> = {}): Promise<Captioner> {
  const model = await loadModel(folder);
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

/** A Sightline server, through its Florence-style API (POST /process_image). */
export function serverCaptioner(baseUrl: string, opts: ServerCaptionerOptions = {}): Captioner {
  const base = baseUrl.replace(/\/+$/, "");
  return {
    name: `server:${base}${opts.model ? `#${opts.model}` : ""}`,
    slots: opts.slots ?? 2,
    async caption(path, prompt) {
      const image = (await readFile(path)).toString("base64");
      const body: Record<string, unknown> = { image, prompt: prompt ?? "<CAPTION>" };
      if (opts.model) body.model = opts.model;
      const answer = await postJson(`${base}/process_image`, body, opts);
      if (typeof answer.result !== "string") {
        throw fail("BAD_REQUEST", `${base}/process_image answered without a text result`);
      }
      return answer.result;
    },
    close: async () => {},
  };
}

export async function postJson(url: string, body: unknown, opts: { apiKey?: string; timeoutMs?: number } = {}): Promise<any> {
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
    throw new SightlineError("SERVER_UNREACHABLE", `cannot reach ${url}: ${(e as Error).cause ?? (e as Error).message}`);
  }
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SightlineError("SERVER_UNREACHABLE", `${url} answered ${res.status} with non-JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    const code = typeof json?.code === "string" ? json.code : `HTTP_${res.status}`;
    const message = json?.error?.message ?? json?.error ?? text;
    throw new SightlineError("SERVER_ERROR", `${url}: ${res.status} ${code}: ${message}`);
  }
  return json;
}
