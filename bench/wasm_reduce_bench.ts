/**
 * nabla's wasm reduction kernels (`lib/backends/wasm/_reduce.ts`, one thread) beside
 * straightforward JS loops over a Float32Array, in the same run: the sum over the last axis of
 * [1024, 4096], the sum over the first axis of [1024, 4096], and softmax / log-softmax over the
 * last axis of [1024, 1024]. Operands stay resident in the wasm memory (no copies are timed).
 *
 * After the run a GB/s table (median of the iterations) is printed, counting the minimal
 * traffic: one read of x for the sums, one read and one write for softmax.
 *
 * Run: `deno bench -c bench/deno.json --allow-read --allow-env bench/wasm_reduce_bench.ts`
 *
 * @module
 */

import { reduceKernels, WasmContext } from "../lib/backends/wasm/mod.ts";

function random(length: number, seed: number, scale: number): Float32Array {
  let s = seed;
  return new Float32Array(length).map(() => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  });
}

// ---- the JS peers: the loops one would write by hand (float64 accumulation, like the kernels)

function jsSumRows(x: Float32Array, o: Float32Array, rows: number, n: number): void {
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = r * n, end = j + n; j < end; j++) s += x[j];
    o[r] = s;
  }
}

function jsSumCols(x: Float32Array, o: Float32Array, rows: number, n: number): void {
  const acc = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    for (let j = 0; j < n; j++) acc[j] += x[base + j];
  }
  o.set(acc);
}

function jsSoftmax(x: Float32Array, o: Float32Array, rows: number, n: number, log: boolean) {
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    let m = -Infinity;
    for (let j = 0; j < n; j++) m = Math.max(m, x[base + j]);
    let s = 0;
    if (log) {
      for (let j = 0; j < n; j++) s += Math.exp(x[base + j] - m);
      const c = m + Math.log(s);
      for (let j = 0; j < n; j++) o[base + j] = x[base + j] - c;
    } else {
      for (let j = 0; j < n; j++) s += o[base + j] = Math.exp(x[base + j] - m);
      const inv = 1 / s;
      for (let j = 0; j < n; j++) o[base + j] *= inv;
    }
  }
}

// ---- the benchmarks -------------------------------------------------------------------------

const ctx = new WasmContext({ threads: 1 });
const k = reduceKernels(ctx);
const samples = new Map<string, { bytes: number; ms: number[] }>();

function bench(group: string, name: string, bytes: number, fn: () => void, baseline = false) {
  const label = `${group}: ${name}`;
  samples.set(label, { bytes, ms: [] });
  Deno.bench({ name, group, baseline }, () => {
    const t0 = performance.now();
    fn();
    samples.get(label)!.ms.push(performance.now() - t0);
  });
}

{
  const [rows, n] = [1024, 4096];
  const x = random(rows * n, 1, 1);
  const px = ctx.heap.alloc(4 * rows * n), po = ctx.heap.alloc(4 * n);
  ctx.heap.f32().set(x, px / 4);
  const o = new Float32Array(n);
  const g1 = `sum over the last axis of [${rows}, ${n}]`;
  bench(g1, "wasm reduce", 4 * rows * n, () => k.reduce("sum", px, po, rows, n, 1));
  bench(g1, "plain JS", 4 * rows * n, () => jsSumRows(x, o, rows, n), true);
  const g2 = `sum over the first axis of [${rows}, ${n}]`;
  bench(g2, "wasm reduce", 4 * rows * n, () => k.reduce("sum", px, po, 1, rows, n));
  bench(g2, "plain JS", 4 * rows * n, () => jsSumCols(x, o, rows, n), true);
}

{
  const [rows, n] = [1024, 1024];
  // Logits up to ±20: an unstabilised softmax would overflow in exp.
  const x = random(rows * n, 2, 20);
  const px = ctx.heap.alloc(4 * rows * n), po = ctx.heap.alloc(4 * rows * n);
  ctx.heap.f32().set(x, px / 4);
  const o = new Float32Array(rows * n);
  for (const log of [false, true]) {
    const group = `${log ? "logSoftmax" : "softmax"} [${rows}, ${n}]`;
    const wasm = log ? () => k.logSoftmax(px, po, rows, n) : () => k.softmax(px, po, rows, n);
    bench(group, "wasm", 8 * rows * n, wasm);
    bench(group, "plain JS", 8 * rows * n, () => jsSoftmax(x, o, rows, n, log), true);
  }
}

globalThis.addEventListener("unload", () => {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const lines = ["", "GB/s (median of iterations; minimal traffic):", ""];
  for (const [label, { bytes, ms }] of samples) {
    if (ms.length === 0) continue;
    const t = median(ms);
    lines.push(
      `  ${label.padEnd(52)} ${(bytes / t / 1e6).toFixed(2).padStart(7)}  (${t.toFixed(3)} ms)`,
    );
  }
  console.log(lines.join("\n"));
});
