// sightline caption IMAGE --model DIR — placeholder until the engine lands (see issue 2).
export const summary = "caption one image with a local model folder";
export async function run(_argv: string[]): Promise<number> {
  console.error("error INTERNAL: not implemented yet");
  return 1;
}
