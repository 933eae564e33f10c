// Small integer data structures for the tokenizer models' inner loops, where Maps keyed by strings or
// by numbers beyond 2³¹ allocate on every lookup.

/**
 * A hash table from pairs of non-negative int32 (a, b) to int32 values (open addressing, linear
 * probing). Entries are only added, never removed.
 */
export class PairTable {
  private firsts: Int32Array;
  private seconds: Int32Array;
  private values: Int32Array;
  private mask: number;
  private count = 0;

  constructor(expected = 16) {
    let capacity = 16;
    while (capacity < 2 * expected) capacity *= 2;
    this.firsts = new Int32Array(capacity).fill(-1);
    this.seconds = new Int32Array(capacity);
    this.values = new Int32Array(capacity);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  // The slot holding (a, b), or the empty slot where it belongs.
  private slot(a: number, b: number): number {
    let slot = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b)) & this.mask;
    while (this.firsts[slot] !== -1 && (this.firsts[slot] !== a || this.seconds[slot] !== b)) {
      slot = (slot + 1) & this.mask;
    }
    return slot;
  }

  /** The value of (a, b), or `missing`. */
  get(a: number, b: number, missing = -1): number {
    const slot = this.slot(a, b);
    return this.firsts[slot] === -1 ? missing : this.values[slot]!;
  }

  /** Sets (a, b) unless it is present; returns the value it now has. */
  addIfAbsent(a: number, b: number, value: number): number {
    const slot = this.slot(a, b);
    if (this.firsts[slot] !== -1) return this.values[slot]!;
    this.firsts[slot] = a;
    this.seconds[slot] = b;
    this.values[slot] = value;
    if (++this.count * 2 > this.firsts.length) this.grow();
    return value;
  }

  private grow(): void {
    const { firsts, seconds, values } = this;
    const capacity = firsts.length * 2;
    this.firsts = new Int32Array(capacity).fill(-1);
    this.seconds = new Int32Array(capacity);
    this.values = new Int32Array(capacity);
    this.mask = capacity - 1;
    for (let i = 0; i < firsts.length; i++) {
      if (firsts[i] === -1) continue;
      const slot = this.slot(firsts[i]!, seconds[i]!);
      this.firsts[slot] = firsts[i]!;
      this.seconds[slot] = seconds[i]!;
      this.values[slot] = values[i]!;
    }
  }
}

/**
 * A min-heap of (rank, position) pairs ordered by rank, then position (leftmost first), each kept as
 * one number rank × 2^k + position, with 2^k above every position. Four children per node: half the
 * depth of a binary heap, and the children share a cache line (a long word's heap has millions).
 */
export class PairHeap {
  private keys: Float64Array;
  private readonly scale: number;
  size = 0;

  /** For positions below `positions` and ranks below `ranks`. */
  constructor(positions: number, ranks: number) {
    let scale = 1;
    while (scale < positions) scale *= 2;
    if (ranks * scale > Number.MAX_SAFE_INTEGER)
      throw new RangeError("PairHeap: ranks × positions too large");
    this.scale = scale;
    this.keys = new Float64Array(Math.max(16, positions));
  }

  push(rank: number, position: number): void {
    if (this.size === this.keys.length) {
      const keys = new Float64Array(this.size * 2);
      keys.set(this.keys);
      this.keys = keys;
    }
    const keys = this.keys;
    const key = rank * this.scale + position;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 2;
      if (keys[parent]! <= key) break;
      keys[i] = keys[parent]!;
      i = parent;
    }
    keys[i] = key;
  }

  /** The smallest entry's rank (the heap must not be empty). */
  topRank(): number {
    return Math.floor(this.keys[0]! / this.scale);
  }

  /** Removes the smallest entry and returns its position. */
  pop(): number {
    const keys = this.keys;
    const top = keys[0]!;
    const last = --this.size;
    if (last > 0) {
      const key = keys[last]!;
      let i = 0;
      for (;;) {
        const first = 4 * i + 1;
        if (first >= last) break;
        // The smallest of up to four children.
        let child = first;
        const end = Math.min(first + 4, last);
        for (let c = first + 1; c < end; c++) if (keys[c]! < keys[child]!) child = c;
        if (keys[child]! >= key) break;
        keys[i] = keys[child]!;
        i = child;
      }
      keys[i] = key;
    }
    return top % this.scale;
  }
}
