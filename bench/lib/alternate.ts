// Timing several variants of one computation fairly on a shared machine: they take turns, forwards in
// even rounds and backwards in odd ones (ABBA), so load from other work falls on all of them alike.

/** Wall milliseconds of each of `variants` per round, after one untimed warm-up run of each (first-run allocations). */
export async function alternate(variants: (() => Promise<unknown>)[], rounds: number): Promise<number[][]> {
  for (const run of variants) await run();
  const times = variants.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    const order = variants.map((_, i) => i);
    if (r % 2) order.reverse();
    for (const i of order) {
      const t = performance.now();
      await variants[i]();
      times[i].push(performance.now() - t);
    }
  }
  return times;
}
