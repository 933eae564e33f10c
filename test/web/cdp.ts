// A headless Chromium driven over the DevTools protocol with no extra npm package: the browser is
// started with --remote-debugging-port=0, its WebSocket address read from stderr, and CDP spoken
// over undici's WebSocket (Node 20 has no global one without a flag).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { WebSocket } from "undici";

/** The Chromium binary: $CHROMIUM, else the first of the usual names on PATH. */
export function findChromium(): string | undefined {
  if (process.env.CHROMIUM) return existsSync(process.env.CHROMIUM) ? process.env.CHROMIUM : undefined;
  const names = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    for (const name of names) {
      const path = join(dir, name);
      if (dir && existsSync(path)) return path;
    }
  }
  return undefined;
}

type Pending = { resolve(v: any): void; reject(e: Error): void; method: string };

/** One CDP connection (the browser target); page commands go through a flattened session id. */
export class Cdp {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(method: string, params: any, sessionId?: string) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener("message", (event) => {
      const msg = JSON.parse(String(event.data)) as {
        id?: number;
        result?: unknown;
        error?: { message: string; data?: string };
      };
      if (msg.id === undefined) {
        const event = msg as { method?: string; params?: unknown; sessionId?: string };
        for (const listener of this.listeners) listener(event.method ?? "", event.params, event.sessionId);
        return;
      }
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message} ${msg.error.data ?? ""}`));
      else p.resolve(msg.result);
    });
    socket.addEventListener("close", () => {
      for (const p of this.pending.values()) p.reject(new Error(`${p.method}: DevTools connection closed`));
      this.pending.clear();
    });
  }

  static connect(url: string): Promise<Cdp> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.addEventListener("open", () => resolve(new Cdp(socket)), { once: true });
      socket.addEventListener("error", () => reject(new Error(`cannot connect to ${url}`)), { once: true });
    });
  }

  send<T = any>(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.socket.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  }

  /** Calls `listener` with every event; returns the function that removes it. */
  onEvent(listener: (method: string, params: any, sessionId?: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.socket.close();
  }
}

/** A page (tab) of the browser: commands, script evaluation, waiting on a condition. */
export class Page {
  constructor(
    readonly cdp: Cdp,
    readonly sessionId: string,
  ) {}

  send<T = any>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    return this.cdp.send<T>(method, params, this.sessionId);
  }

  /** The value of a JavaScript expression in the page (awaited when it is a promise). */
  async evaluate<T = unknown>(expression: string): Promise<T> {
    const out = await this.send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
    if (out.exceptionDetails) {
      throw new Error(
        `in the page: ${out.exceptionDetails.exception?.description ?? out.exceptionDetails.text}`,
      );
    }
    return out.result.value as T;
  }

  /** Polls `expression` until it is truthy; its last value goes into the timeout message. */
  async waitFor(expression: string, what: string, timeoutMs = 15_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      // A page still loading may not have the elements yet: an exception is "not yet".
      const value: { v: unknown; error?: string } = await this.evaluate(expression).then(
        (v) => ({ v }),
        (e: Error) => ({ v: undefined, error: e.message }),
      );
      last = value.error ?? value.v;
      if (value.v) return;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last value ${String(last)})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Answers the page's requests whose URL matches `urlPattern` (CDP Fetch patterns: * wildcards)
   * with `answer(url)` instead of the network; returns the function that stops it.
   */
  async intercept(
    urlPattern: string,
    answer: (url: string) => { status: number; contentType: string; body: string },
  ): Promise<() => Promise<void>> {
    const off = this.cdp.onEvent((method, params, sessionId) => {
      if (method !== "Fetch.requestPaused" || sessionId !== this.sessionId) return;
      const out = answer(params.request.url as string);
      void this.send("Fetch.fulfillRequest", {
        requestId: params.requestId,
        responseCode: out.status,
        responseHeaders: [{ name: "content-type", value: out.contentType }],
        body: Buffer.from(out.body).toString("base64"),
      });
    });
    await this.send("Fetch.enable", { patterns: [{ urlPattern, requestStage: "Request" }] });
    return async () => {
      off();
      await this.send("Fetch.disable");
    };
  }

  async nodeId(selector: string): Promise<number> {
    const { root } = await this.send("DOM.getDocument", { depth: 0 });
    const { nodeId } = await this.send("DOM.querySelector", { nodeId: root.nodeId, selector });
    if (!nodeId) throw new Error(`no element matches ${selector}`);
    return nodeId;
  }

  /** The element's centre in the viewport (scrolled into view first). */
  async centre(selector: string): Promise<{ x: number; y: number }> {
    const nodeId = await this.nodeId(selector);
    await this.send("DOM.scrollIntoViewIfNeeded", { nodeId });
    const { model } = await this.send("DOM.getBoxModel", { nodeId });
    const q: number[] = model.content;
    return { x: (q[0]! + q[2]! + q[4]! + q[6]!) / 4, y: (q[1]! + q[3]! + q[5]! + q[7]!) / 4 };
  }

  /** A real mouse click at the centre of the element. */
  async click(selector: string): Promise<void> {
    const { x, y } = await this.centre(selector);
    for (const type of ["mousePressed", "mouseReleased"]) {
      await this.send("Input.dispatchMouseEvent", { type, x, y, button: "left", clickCount: 1 });
    }
  }

  /** Drags files from outside the browser and drops them on the element's centre. */
  async dropFiles(selector: string, files: string[]): Promise<void> {
    const { x, y } = await this.centre(selector);
    const data = { items: [], files, dragOperationsMask: 1 };
    for (const type of ["dragEnter", "dragOver", "drop"]) {
      await this.send("Input.dispatchDragEvent", { type, x, y, data });
    }
  }

  async screenshot(): Promise<Buffer> {
    const { data } = await this.send("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: true,
    });
    return Buffer.from(data, "base64");
  }
}

export interface Browser {
  cdp: Cdp;
  newPage(width: number, height: number, options?: { mobile?: boolean }): Promise<Page>;
  close(): Promise<void>;
}

/** Starts a headless Chromium with a throw-away profile; close() ends it and removes the profile. */
export async function launchChromium(binary: string, timeoutMs = 15_000): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "sightline-chromium-"));
  const child: ChildProcess = spawn(
    binary,
    [
      "--headless",
      "--remote-debugging-port=0",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-extensions",
      "--no-first-run",
      "--no-default-browser-check",
      `--user-data-dir=${profile}`,
      "about:blank",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const cleanup = () => rmSync(profile, { recursive: true, force: true });
  let stderr = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Chromium printed no DevTools address:\n${stderr}`)),
      timeoutMs,
    );
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      stderr += chunk;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`Chromium exited (${code ?? signal}) before DevTools was up:\n${stderr}`));
    });
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  }).catch((e) => {
    child.kill("SIGKILL");
    cleanup();
    throw e;
  });
  // Keep draining stderr so Chromium never blocks on a full pipe.
  child.stderr!.resume();
  const cdp = await Cdp.connect(url);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));

  return {
    cdp,
    async newPage(width, height, options = {}) {
      const { targetId } = await cdp.send("Target.createTarget", { url: "about:blank" });
      const { sessionId } = await cdp.send("Target.attachToTarget", { targetId, flatten: true });
      const page = new Page(cdp, sessionId);
      await page.send("Page.enable");
      await page.send("Runtime.enable");
      await page.send("DOM.enable");
      await page.send("Emulation.setDeviceMetricsOverride", {
        width,
        height,
        deviceScaleFactor: 1,
        mobile: options.mobile ?? false,
      });
      return page;
    },
    async close() {
      await cdp.send("Browser.close").catch(() => undefined);
      cdp.close();
      const killer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(killer);
      cleanup();
    },
  };
}
