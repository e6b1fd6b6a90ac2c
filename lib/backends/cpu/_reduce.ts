/**
 * Reductions (`reduceSum reduceMax reduceMin reduceProd`) and `argmax`/`argmin`.
 *
 * A reduction walks its input once, in memory order, against an accumulator viewed with stride
 * 0 along the reduced axes: a reduced inner axis becomes a tight scalar loop, and a kept inner
 * axis accumulates whole rows into the output, so no axis needs a strided gather per element.
 *
 * @module
 */

import type { Params } from "../../core/backend.ts";
import { allocate, type DType, isFloat, type TypedArray } from "../../core/dtype.ts";
import { CpuBuffer, dense, forEachRow, type Kernel, prod } from "./_buffer.ts";

/** The identity of a reduction: the value of an empty one. */
function identity(op: string, dtype: DType): number {
  switch (op) {
    case "reduceSum":
      return 0;
    case "reduceProd":
      return 1;
    case "reduceMax":
      return dtype === "bool" ? 0 : dtype === "int32" ? -2147483648 : -Infinity;
    case "reduceMin":
      return dtype === "bool" ? 1 : dtype === "int32" ? 2147483647 : Infinity;
  }
  throw new Error(`cpu backend: no kernel for primitive "${op}"`);
}

/** Folds `n` inputs into the one accumulator slot `acc[ai]`. */
function foldScalar(
  op: string,
  int: boolean,
  x: TypedArray,
  xi: number,
  xs: number,
  acc: TypedArray,
  ai: number,
  n: number,
): void {
  let s = acc[ai];
  switch (op) {
    case "reduceSum":
      if (int) { for (let i = 0; i < n; i++, xi += xs) s = (s + x[xi]) | 0; }
      else for (let i = 0; i < n; i++, xi += xs) s += x[xi];
      break;
    case "reduceProd":
      if (int) { for (let i = 0; i < n; i++, xi += xs) s = Math.imul(s, x[xi]); }
      else for (let i = 0; i < n; i++, xi += xs) s *= x[xi];
      break;
    case "reduceMax":
      // Math.max propagates NaN; ints never see one.
      for (let i = 0; i < n; i++, xi += xs) s = Math.max(s, x[xi]);
      break;
    case "reduceMin":
      for (let i = 0; i < n; i++, xi += xs) s = Math.min(s, x[xi]);
      break;
  }
  acc[ai] = s;
}

/** Folds a row of inputs into a row of accumulator slots. */
function foldRow(
  op: string,
  int: boolean,
  x: TypedArray,
  xi: number,
  xs: number,
  acc: TypedArray,
  ai: number,
  as: number,
  n: number,
): void {
  switch (op) {
    case "reduceSum":
      if (int) { for (let i = 0; i < n; i++, xi += xs, ai += as) acc[ai] = (acc[ai] + x[xi]) | 0; }
      else for (let i = 0; i < n; i++, xi += xs, ai += as) acc[ai] += x[xi];
      return;
    case "reduceProd":
      if (int) {
        for (let i = 0; i < n; i++, xi += xs, ai += as) {
          acc[ai] = Math.imul(acc[ai], x[xi]);
        }
      } else for (let i = 0; i < n; i++, xi += xs, ai += as) acc[ai] *= x[xi];
      return;
    case "reduceMax":
      for (let i = 0; i < n; i++, xi += xs, ai += as) acc[ai] = Math.max(acc[ai], x[xi]);
      return;
    case "reduceMin":
      for (let i = 0; i < n; i++, xi += xs, ai += as) acc[ai] = Math.min(acc[ai], x[xi]);
      return;
  }
}

/**
 * The kernel of `reduceSum`, `reduceMax`, `reduceMin` or `reduceProd` over `params.axes`
 * (sorted, unique; empty copies). float32 sums and products accumulate in float64.
 *
 * @example
 * ```ts
 * import { reduceKernel } from "./_reduce.ts";
 * import { CpuBuffer } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const x = new CpuBuffer(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
 * const out = { shape: [3], dtype: "float32", device: "cpu" } as const;
 * assert.deepEqual([...reduceKernel("reduceSum")([x], { axes: [0] }, out).data], [5, 7, 9]);
 * ```
 */
export function reduceKernel(op: string): Kernel {
  return (inputs, params, out, alloc = allocate) => {
    const x = inputs[0];
    const axes = params.axes as readonly number[];
    const dtype = out.dtype;
    const size = prod(out.shape);
    const int = !isFloat(dtype);
    // float32 sums and products keep a double accumulator per output; bool folds as int32.
    const acc: TypedArray = dtype === "bool"
      ? new Int32Array(size)
      : dtype === "float32" && (op === "reduceSum" || op === "reduceProd")
      ? new Float64Array(size)
      : alloc(dtype, size);
    const init = identity(op, dtype);
    if (init !== 0) acc.fill(init);

    // The accumulator seen as an input-shaped view: stride 0 along reduced axes.
    const rank = x.shape.length;
    const accStrides = new Array<number>(rank);
    for (let d = rank - 1, s = 1, a = axes.length - 1; d >= 0; d--) {
      if (a >= 0 && axes[a] === d) {
        accStrides[d] = 0;
        a--;
      } else {
        accStrides[d] = s;
        s *= x.shape[d];
      }
    }
    // Visiting dims in decreasing input stride follows memory order even for transposed views.
    const order = x.shape.map((_, d) => d);
    if (!x.contiguous) {
      order.sort((p, q) => Math.abs(x.strides[q]) - Math.abs(x.strides[p]) || p - q);
    }
    const shape = order.map((d) => x.shape[d]);
    const xStrides = order.map((d) => x.strides[d]);
    const aStrides = order.map((d) => accStrides[d]);
    const xd = x.data;
    forEachRow(shape, [xStrides, aStrides], [x.offset, 0], (offs, n, steps) => {
      if (steps[1] === 0) foldScalar(op, int, xd, offs[0], steps[0], acc, offs[1], n);
      else foldRow(op, int, xd, offs[0], steps[0], acc, offs[1], steps[1], n);
    });

    let result: TypedArray = acc;
    if (dtype === "bool") {
      result = alloc("bool", size);
      for (let i = 0; i < size; i++) result[i] = acc[i] !== 0 ? 1 : 0;
    } else if (dtype === "float32" && acc instanceof Float64Array) {
      result = alloc("float32", size);
      result.set(acc);
    }
    return new CpuBuffer(result, out.shape);
  };
}

function argKernel(isMax: boolean): Kernel {
  return (inputs: readonly CpuBuffer[], params: Params, out, alloc = allocate) => {
    const x = inputs[0];
    const axis = params.axis as number;
    const xd = dense(x);
    const outer = prod(x.shape, 0, axis);
    const n = x.shape[axis];
    const inner = prod(x.shape, axis + 1);
    const idx = alloc("int32", outer * inner);
    const best = new Float64Array(inner);
    for (let p = 0; p < outer; p++) {
      const base = p * n * inner;
      const ob = p * inner;
      if (n === 0) continue;
      for (let j = 0; j < inner; j++) best[j] = xd[base + j];
      // Row by row along the axis, so every read is sequential. A strict comparison keeps the
      // first of equal values; a NaN wins once and is never replaced (`best !== best`).
      for (let k = 1; k < n; k++) {
        const row = base + k * inner;
        for (let j = 0; j < inner; j++) {
          const v = xd[row + j];
          const b = best[j];
          if ((isMax ? v > b : v < b) || (v !== v && b === b)) {
            best[j] = v;
            idx[ob + j] = k;
          }
        }
      }
    }
    return new CpuBuffer(idx, out.shape);
  };
}

/**
 * `argmax({ axis })`: the int32 index of the largest value along `axis`; the first on ties,
 * and the first NaN if there is one (as NumPy).
 *
 * @example
 * ```ts
 * import { argmax } from "./_reduce.ts";
 * import { CpuBuffer } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const x = new CpuBuffer(new Float32Array([1, 3, 3, 0]), [4]);
 * const r = argmax([x], { axis: 0 }, { shape: [], dtype: "int32", device: "cpu" });
 * assert.deepEqual([...r.data], [1]);
 * ```
 */
export const argmax: Kernel = argKernel(true);

/**
 * `argmin({ axis })`: the int32 index of the smallest value along `axis`; the first on ties,
 * and the first NaN if there is one (as NumPy).
 *
 * @example
 * ```ts
 * import { argmin } from "./_reduce.ts";
 * import { CpuBuffer } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const x = new CpuBuffer(new Int32Array([2, 0, 0, 1]), [4]);
 * const r = argmin([x], { axis: 0 }, { shape: [], dtype: "int32", device: "cpu" });
 * assert.deepEqual([...r.data], [1]);
 * ```
 */
export const argmin: Kernel = argKernel(false);

/** The reduction primitives. */
export const REDUCE: readonly string[] = ["reduceSum", "reduceMax", "reduceMin", "reduceProd"];
