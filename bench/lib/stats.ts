/** The q-quantile (0..1) of `values`, by nearest rank; 0 when empty. Sorts in place. */
export function quantile(values: Float64Array | number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = values instanceof Float64Array ? values.sort() : values.sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** A growable list of latencies in milliseconds, cheap to append to on the hot path. */
export class Latencies {
  private data = new Float64Array(1 << 16);
  private size = 0;

  add(ms: number): void {
    if (this.size === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.size++] = ms;
  }

  get count(): number {
    return this.size;
  }

  /** p50 and p99, in milliseconds rounded to 0.01. */
  percentiles(): { p50_ms: number; p99_ms: number } {
    const values = this.data.subarray(0, this.size);
    values.sort();
    const at = (q: number) => Math.round(quantile(values, q) * 100) / 100;
    return { p50_ms: at(0.5), p99_ms: at(0.99) };
  }
}

export const round = (value: number, digits = 0): number => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

/** The median of `values` (the mean of the middle two when their number is even); 0 when empty. */
export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
