// A real `sightline serve` process for deployment tests: started from the sources (tsx), on an
// ephemeral loopback port, its log lines kept; resolves once it listens.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const mainTs = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

export interface ServeProcess {
  child: ChildProcess;
  base: string;
  port: number;
  logs: string[];
  exit: Promise<number | null>;
  /** Resolves when a log line matches. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

export async function startServe(args: string[], timeoutMs = 60_000): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", mainTs, "serve", "--host", "127.0.0.1", "--port", "0", ...args],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const logs: string[] = [];
  const watchers: { pattern: RegExp; resolve: () => void }[] = [];
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let buffered = "";
  const onLine = (line: string) => {
    logs.push(line);
    for (const w of watchers.splice(0)) {
      if (w.pattern.test(line)) w.resolve();
      else watchers.push(w);
    }
  };
  child.stdout!.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      onLine(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  });
  child.stderr!.on("data", (chunk: Buffer) => onLine(chunk.toString()));
  const waitForLog = (pattern: RegExp, ms = timeoutMs) =>
    new Promise<void>((resolve, reject) => {
      if (logs.some((l) => pattern.test(l))) return resolve();
      const timer = setTimeout(
        () => reject(new Error(`no log line ${pattern} in time:\n${logs.join("\n")}`)),
        ms,
      );
      timer.unref();
      watchers.push({
        pattern,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      void exit.then((code) => reject(new Error(`serve exited ${code}:\n${logs.join("\n")}`)));
    });
  await waitForLog(/sightline listening on/);
  const base = /sightline listening on (http:\/\/[^"]+)"/.exec(
    logs.find((l) => /listening on/.test(l))!,
  )![1]!;
  return { child, base, port: Number(new URL(base).port), logs, exit, waitForLog };
}

/** A TCP port free on 127.0.0.1 right now (for programs that cannot report the port they got). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
