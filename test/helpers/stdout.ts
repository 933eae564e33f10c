// console.log output of a CLI command run in-process (the tests call a command's run() directly).

/** Everything `fn` prints with console.log, lines joined with "\n". */
export async function captureStdout(fn: () => Promise<unknown>): Promise<string> {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  try {
    await fn();
  } finally {
    console.log = original;
  }
  return lines.join("\n");
}
