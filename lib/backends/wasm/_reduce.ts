/**
 * Reduction, softmax and scatter-add float32 kernels in WebAssembly SIMD on a
 * {@linkcode WasmContext}'s memory: `reduce` (sum, max, min over the middle axis of
 * `[outer, k, inner]`), `softmax`/`logSoftmax` over the last axis and `scatterAddRows`. Every
 * pointer is a byte offset in the context's memory; row reductions and softmax over big inputs
 * are split across the context's threads, the rest runs on the calling thread. The generated
 * module and its numerics are described in `_reduce_module.ts`.
 *
 * @example
 * ```ts
 * import { WasmContext } from "./_context.ts";
 * import { reduceKernels } from "./_reduce.ts";
 * const ctx = new WasmContext({ threads: 1 });
 * const k = reduceKernels(ctx);
 * const x = ctx.heap.alloc(24), o = ctx.heap.alloc(8);
 * ctx.heap.f32().set([1, 2, 3, 4, 5, 6], x / 4); // [[1, 2, 3], [4, 5, 6]]
 * k.reduce("sum", x, o, 2, 3, 1); // row sums
 * console.log(ctx.heap.f32().slice(o / 4, o / 4 + 2)); // Float32Array [6, 15]
 * k.softmax(x, x, 2, 3); // in place
 * console.log(ctx.heap.f32()[x / 4 + 2].toFixed(4)); // 0.6652
 * ```
 *
 * @module
 */

import { defaultWasmContext, type WasmContext } from "./_context.ts";
import type { ReduceOp } from "./_reduce_module.ts";

export type { ReduceOp } from "./_reduce_module.ts";

type Fn = (...args: number[]) => void;

const OPS: readonly string[] = ["sum", "max", "min"];

// Work of at least this many elements (1 MiB of float32) is split across the context's
// threads; below it, the hand-off and the waiting threads' spinning cost about what the split
// saves.
const PARALLEL_ELEMENTS = 1 << 18;

/**
 * The compiled reduction kernels on one context's memory (see the module notes). Each method
 * checks that its operands lie in the memory and throws a RangeError naming the kernel and
 * the sizes otherwise; outputs must not overlap inputs, except where a method allows `o = x`.
 *
 * @example
 * ```ts
 * import { WasmContext } from "./_context.ts";
 * import { ReduceKernels } from "./_reduce.ts";
 * const ctx = new WasmContext({ threads: 1 });
 * const k = new ReduceKernels(ctx);
 * const x = ctx.heap.alloc(16), o = ctx.heap.alloc(8);
 * ctx.heap.f32().set([1, -2, 3, 4], x / 4); // [2, 2]
 * k.reduce("max", x, o, 1, 2, 2); // over the first axis
 * console.log(ctx.heap.f32().slice(o / 4, o / 4 + 2)); // Float32Array [3, 4]
 * ```
 */
export class ReduceKernels {
  /** The context whose memory the kernels work in. */
  readonly ctx: WasmContext;
  readonly #fns: Record<string, Fn>;
  // Float64 accumulator row of the columnwise sum, kept for the next call.
  #scratch = 0;
  #scratchBytes = 0;

  /** The kernels of `ctx`'s reduce module (compiled with the context, on every thread). */
  constructor(ctx: WasmContext) {
    this.ctx = ctx;
    this.#fns = ctx.kernels("reduce");
  }

  /**
   * `o[a, c] = op over b of x[a, b, c]` for dense row-major `x [outer, k, inner]` into
   * `o [outer, inner]`. `sum` adds in float64 and rounds once; for `k = 0` the result is 0
   * (sum), -Infinity (max) or +Infinity (min). `o` must not overlap `x`.
   */
  reduce(op: ReduceOp, x: number, o: number, outer: number, k: number, inner: number): void {
    const name = `reduce(${op})`;
    if (!OPS.includes(op)) throw new RangeError(`reduce: unknown op "${op}"`);
    const shape = `[${outer}, ${k}, ${inner}]`;
    counts(name, shape, outer, k, inner);
    this.#check(name, "x", shape, x, outer * k * inner);
    this.#check(name, "o", `[${outer}, ${inner}]`, o, outer * inner);
    if (outer * inner === 0) return;
    if (k === 0) {
      const fill = op === "sum" ? 0 : op === "max" ? -Infinity : Infinity;
      this.ctx.heap.f32().fill(fill, o / 4, o / 4 + outer * inner);
    } else if (inner === 1) {
      const split = { units: outer, steps: [4 * k, 4, 0, 0], countAt: 2, scale: 1 };
      if (outer * k >= PARALLEL_ELEMENTS && outer > 1) {
        this.ctx.map("reduce", `${op}_rows`, [x, o, outer, k], split);
      } else {
        this.#fns[`${op}_rows`](x, o, outer, k);
      }
    } else {
      const scratch = op === "sum" ? this.#scratchFor(8 * inner) : 0;
      this.#fns[`${op}_cols`](x, o, outer, k, inner, scratch);
    }
  }

  /** Softmax over the last axis of dense `[rows, n]` (`o` may equal `x`). */
  softmax(x: number, o: number, rows: number, n: number): void {
    this.#softmax("softmax", "softmax", x, o, rows, n);
  }

  /** Log-softmax over the last axis of dense `[rows, n]` (`o` may equal `x`). */
  logSoftmax(x: number, o: number, rows: number, n: number): void {
    this.#softmax("logSoftmax", "log_softmax", x, o, rows, n);
  }

  /**
   * For `i < count`: `o[idx[i], :] += upd[i, :]` on rows of `inner` floats, in order, so a
   * repeated index accumulates. `idx` holds int32 row numbers; they are checked to be ≥ 0 and,
   * when `rows` (the rows of `o`) is given, below it, else to address rows inside the memory.
   * `o` must not overlap `upd` or `idx`.
   */
  scatterAddRows(
    o: number,
    upd: number,
    idx: number,
    count: number,
    inner: number,
    rows?: number,
  ): void {
    const name = "scatterAddRows";
    counts(name, `count ${count}, inner ${inner}`, count, inner, rows ?? 0);
    this.#check(name, "upd", `[${count}, ${inner}]`, upd, count * inner);
    this.#check(name, "idx", `[${count}]`, idx, count);
    if (count === 0) return;
    const ids = this.ctx.heap.i32();
    let max = -1;
    for (let i = idx >>> 2, end = i + count; i < end; i++) {
      const r = ids[i];
      if (r < 0) throw new RangeError(`${name}: idx[${i - (idx >>> 2)}] = ${r} is negative`);
      if (r > max) max = r;
    }
    if (rows !== undefined && max >= rows) {
      throw new RangeError(`${name}: index ${max} is out of range for ${rows} rows`);
    }
    if (inner === 0) return;
    this.#check(name, "o", `[${rows ?? max + 1}, ${inner}]`, o, (rows ?? max + 1) * inner);
    this.#fns.scatter_add_rows(o, upd, idx, count, inner);
  }

  #softmax(name: string, fn: string, x: number, o: number, rows: number, n: number): void {
    const shape = `[${rows}, ${n}]`;
    counts(name, shape, rows, n, 1);
    this.#check(name, "x", shape, x, rows * n);
    this.#check(name, "o", shape, o, rows * n);
    if (rows * n === 0) return;
    if (rows * n < PARALLEL_ELEMENTS || rows < 2) {
      this.#fns[fn](x, o, rows, n);
      return;
    }
    // Rows are independent: the threads take whole rows.
    const split = { units: rows, steps: [4 * n, 4 * n, 0, 0], countAt: 2, scale: 1 };
    this.ctx.map("reduce", fn, [x, o, rows, n], split);
  }

  #scratchFor(bytes: number): number {
    if (bytes > this.#scratchBytes) {
      if (this.#scratchBytes > 0) this.ctx.heap.free(this.#scratch);
      this.#scratch = this.ctx.heap.alloc(bytes);
      this.#scratchBytes = bytes;
    }
    return this.#scratch;
  }

  #check(kernel: string, what: string, shape: string, ptr: number, elems: number): void {
    const bytes = this.ctx.memory.buffer.byteLength;
    if (!Number.isInteger(ptr) || ptr < 0 || ptr % 4 !== 0 || ptr + 4 * elems > bytes) {
      throw new RangeError(
        `${kernel}: ${what} ${shape} at byte ${ptr} does not fit in the memory (${bytes} bytes)`,
      );
    }
  }
}

function counts(kernel: string, shape: string, ...sizes: number[]): void {
  for (const s of sizes) {
    if (!Number.isInteger(s) || s < 0 || s > 2 ** 31 - 1) {
      throw new RangeError(`${kernel}: bad size ${s} in ${shape}`);
    }
  }
}

const cache = new WeakMap<WasmContext, ReduceKernels>();

/**
 * The reduction kernels on `ctx` (default: the process-wide context), compiled once per
 * context.
 *
 * @example
 * ```ts
 * import { WasmContext } from "./_context.ts";
 * import { reduceKernels } from "./_reduce.ts";
 * const ctx = new WasmContext({ threads: 1 });
 * console.log(reduceKernels(ctx) === reduceKernels(ctx)); // true
 * ```
 */
export function reduceKernels(ctx: WasmContext = defaultWasmContext()): ReduceKernels {
  let k = cache.get(ctx);
  if (k === undefined) cache.set(ctx, k = new ReduceKernels(ctx));
  return k;
}
