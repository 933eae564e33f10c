// The one error catalogue: every failure Sightline reports has a stable code, an HTTP status and a
// message. The CLI prints `error CODE: message` and exits non-zero; the server answers
// `{"error": message, "code": CODE}` with the status. Add entries here, never ad-hoc errors.

export const errorCatalogue = {
  // input files and images
  FILE_NOT_FOUND: { status: 404, message: (path: string) => `file not found: ${path}` },
  IMAGE_UNSUPPORTED: { status: 415, message: (detail: string) => `unsupported image format: ${detail}` },
  IMAGE_INVALID: { status: 400, message: (detail: string) => `invalid or corrupt image: ${detail}` },
  IMAGE_TOO_LARGE: {
    status: 413,
    message: (detail: string) => `image is too large: ${detail}`,
  },
  // model folders
  MODEL_NOT_FOUND: { status: 404, message: (name: string) => `model not found: ${name}` },
  MODEL_CONFIG_MISSING: { status: 500, message: (dir: string) => `no config.json in model folder ${dir}` },
  MODEL_CONFIG_INVALID: { status: 500, message: (detail: string) => `invalid model config: ${detail}` },
  MODEL_WEIGHTS_MISSING: {
    status: 500,
    message: (dir: string) =>
      `no weights in model folder ${dir} (looked for model.safetensors, pytorch_model.bin and their sharded indexes)`,
  },
  MODEL_WEIGHTS_PICKLE_ONLY: {
    status: 500,
    message: (dir: string) =>
      `${dir} has only pytorch_model.bin weights (PyTorch pickles) and --safetensors-only is set; ` +
      `drop --safetensors-only (SIGHTLINE_SAFETENSORS_ONLY) to read them with the restricted reader, or use a ` +
      `revision with model.safetensors (on the hub, the "refs/pr/N" safetensors conversion branch)`,
  },
  MODEL_WEIGHTS_UNSAFE: {
    status: 500,
    message: (detail: string) =>
      `refused to load ${detail}; a PyTorch checkpoint may only rebuild tensors (what torch.load(weights_only=True) ` +
      `allows), nothing in it was run`,
  },
  CHECKPOINT_INVALID: {
    status: 500,
    message: (detail: string) => `invalid or unsupported PyTorch checkpoint: ${detail}`,
  },
  MODEL_UNSUPPORTED_ARCH: {
    status: 500,
    message: (detail: string) => `unsupported model architecture: ${detail}`,
  },
  WEIGHT_MISSING: { status: 500, message: (detail: string) => `missing weight tensor: ${detail}` },
  WEIGHT_SHAPE: { status: 500, message: (detail: string) => `weight tensor has the wrong shape: ${detail}` },
  SAFETENSORS_INVALID: { status: 500, message: (detail: string) => `invalid safetensors file: ${detail}` },
  TOKENIZER_MISSING: { status: 500, message: (dir: string) => `no usable tokenizer files in ${dir}` },
  TOKENIZER_INVALID: {
    status: 500,
    message: (detail: string) => `invalid or unsupported tokenizer: ${detail}`,
  },
  // the model hub (src/hub)
  MODEL_NOT_DOWNLOADED: {
    status: 503,
    message: (name: string) =>
      `model ${name} is not in the models folder and offline mode is on; fetch it with \`sightline models pull ${name}\``,
  },
  HUB_AUTH_REQUIRED: {
    status: 502,
    message: (repo: string) =>
      `${repo} is a gated or private repo: set HF_TOKEN (and accept the model's terms on the hub if it is gated)`,
  },
  HUB_DOWNLOAD_FAILED: { status: 502, message: (detail: string) => `model download failed: ${detail}` },
  HUB_FILE_CORRUPT: {
    status: 502,
    message: (detail: string) => `downloaded file does not match the hub's checksum, discarded it: ${detail}`,
  },
  // requests
  BAD_REQUEST: { status: 400, message: (detail: string) => detail },
  INVALID_ARGUMENT: { status: 400, message: (detail: string) => `invalid argument: ${detail}` },
  UNKNOWN_PROMPT: { status: 400, message: (prompt: string) => `unknown prompt: ${prompt}` },
  PROMPT_TOO_LONG: { status: 400, message: (detail: string) => `prompt is too long: ${detail}` },
  // talking to a Sightline server (client commands, caption-folder --server)
  SERVER_UNREACHABLE: { status: 502, message: (detail: string) => detail },
  SERVER_ERROR: { status: 502, message: (detail: string) => detail },
  INTERNAL: { status: 500, message: (detail: string) => `internal error: ${detail}` },
  // the server (src/server, src/queue, src/images/fetch.ts)
  URL_REQUIRED: { status: 400, message: () => "URL is required" },
  NOT_JSON: { status: 400, message: () => "Request must be JSON" },
  JSON_INVALID: { status: 400, message: (detail: string) => `malformed JSON body: ${detail}` },
  BODY_TOO_LARGE: { status: 413, message: (detail: string) => `request body is too large: ${detail}` },
  ROUTE_NOT_FOUND: { status: 404, message: (route: string) => `no such endpoint: ${route}` },
  URL_INVALID: { status: 400, message: (detail: string) => `invalid image URL: ${detail}` },
  URL_FORBIDDEN: {
    status: 400,
    message: (detail: string) => `refusing to fetch ${detail}`,
  },
  URL_FETCH_FAILED: { status: 400, message: (detail: string) => `could not fetch the image URL: ${detail}` },
  UNAUTHORIZED: {
    status: 401,
    message: () =>
      "missing or wrong API key (send Authorization: Bearer <key>, or Basic auth with the key as password)",
  },
  MODEL_NOT_CONFIGURED: {
    status: 404,
    message: (detail: string) => `model is not available on this server: ${detail}`,
  },
  QUEUE_FULL: {
    status: 429,
    message: (model: string) => `too many requests queued for ${model}, retry later`,
  },
  SHUTTING_DOWN: { status: 503, message: () => "the server is shutting down" },
  TIMEOUT: { status: 504, message: (detail: string) => `request timed out: ${detail}` },
  // 499: nginx's "client closed request"; the client that could read it is usually gone.
  REQUEST_CANCELLED: { status: 499, message: (detail: string) => `request cancelled: ${detail}` },
  WORKER_CRASHED: { status: 500, message: (detail: string) => `the model worker process crashed: ${detail}` },
  // the chat-style dialects (server/routes/photoprism.ts, ollama.ts, openai.ts)
  IMAGE_REQUIRED: { status: 400, message: (detail: string) => `no image in the request: ${detail}` },
  NSFW_NOT_CONFIGURED: { status: 501, message: () => "no nsfw model configured" },
  FACE_NOT_CONFIGURED: {
    status: 501,
    message: () =>
      "no face embedding model: PhotoPrism compares embeddings in its own FaceNet space (512 values), " +
      "and no model producing that space ships on npm; keep faces local (leave PHOTOPRISM_VISION_URI unset and give " +
      "caption, labels and nsfw their own Service Uri, docs/api.md)",
  },
} as const;

export type ErrorCode = keyof typeof errorCatalogue;

type MessageArgs<C extends ErrorCode> = Parameters<(typeof errorCatalogue)[C]["message"]>;

export class SightlineError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Seconds a client should wait before trying again (QUEUE_FULL, SHUTTING_DOWN): Retry-After. */
  retryAfter?: number;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; status?: number; retryAfter?: number },
  ) {
    super(message, options);
    this.name = "SightlineError";
    this.code = code;
    this.status = options?.status ?? errorCatalogue[code].status;
    if (options?.retryAfter !== undefined) this.retryAfter = options.retryAfter;
  }
}

/** The same error answered with another HTTP status (`--busy-status 503`); extra fields are kept. */
export function withStatus(e: SightlineError, status: number): SightlineError {
  if (e.status === status) return e;
  const copy = new SightlineError(e.code, e.message, { cause: e.cause, status, retryAfter: e.retryAfter });
  return Object.assign(copy, e, { status });
}

/** Builds the catalogue's error for `code`: `fail("FILE_NOT_FOUND", path)`. */
export function fail<C extends ErrorCode>(code: C, ...args: MessageArgs<C>): SightlineError {
  const make = errorCatalogue[code].message as (...a: unknown[]) => string;
  return new SightlineError(code, make(...args));
}

/** Same as fail() but keeps the underlying error as `cause`. */
export function failWith<C extends ErrorCode>(
  cause: unknown,
  code: C,
  ...args: MessageArgs<C>
): SightlineError {
  const make = errorCatalogue[code].message as (...a: unknown[]) => string;
  return new SightlineError(code, make(...args), { cause });
}

export function isSightlineError(e: unknown): e is SightlineError {
  return e instanceof SightlineError;
}

/**
 * What an error message may quote of a caller's input: at most `max` characters (a 10 MB model name
 * must not come back as a 10 MB answer or log line); a cut text says how long it was.
 */
export function clip(text: string, max = 100): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}
