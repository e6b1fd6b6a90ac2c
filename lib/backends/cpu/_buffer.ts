/**
 * The CPU buffer: a strided view over a typed array. Because no buffer is ever mutated after
 * creation, views (reshape, broadcast, transpose, slice) share storage freely; kernels read any
 * view through {@linkcode forEachRow}, which walks it one contiguous-ish row at a time.
 *
 * @module
 */

import type { Aval, Params } from "../../core/backend.ts";
import { allocate, type DType, dtypeOfArray, type TypedArray } from "../../core/dtype.ts";
import { isRowMajor, type Shape, sizeOf, stridesOf } from "../../core/shape.ts";

/**
 * A strided view: element `[i0, i1, ...]` lives at `data[offset + i0 * strides[0] + ...]`.
 *
 * @example
 * ```ts
 * import { CpuBuffer } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const b = new CpuBuffer(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
 * assert.deepEqual(b.strides, [3, 1]);
 * assert.ok(b.contiguous);
 * ```
 */
export class CpuBuffer {
  /** The storage, possibly shared with other views. Never written after creation. */
  readonly data: TypedArray;
  /** The dimensions of the view. */
  readonly shape: readonly number[];
  /** The step in `data` per index of each dimension (0 for a broadcast dimension). */
  readonly strides: readonly number[];
  /** The position of element `[0, 0, ...]` in `data`. */
  readonly offset: number;
  /** The number of elements of the view. */
  readonly size: number;
  /** Whether the view is row-major and dense from `offset`. */
  readonly contiguous: boolean;

  /** Wraps storage as a view; strides default to row-major. */
  constructor(
    data: TypedArray,
    shape: Shape,
    strides: readonly number[] = stridesOf(shape),
    offset = 0,
  ) {
    this.data = data;
    this.shape = shape;
    this.strides = strides;
    this.offset = offset;
    this.size = sizeOf(shape);
    this.contiguous = isRowMajor(shape, strides);
  }

  /** The element type, read from the storage. */
  get dtype(): DType {
    return dtypeOfArray(this.data);
  }
}

/**
 * Makes the storage of a kernel's result: ordinary typed arrays on the CPU backend, views into
 * the Wasm heap on the wasm device. Scratch space a kernel drops again is never made with it.
 * The storage is zero-filled unless the kernel passes `zero: false` because it writes every
 * element (a heap block is reused memory, and filling it costs as much as a copy).
 */
export type Allocate = (dtype: DType, size: number, zero?: boolean) => TypedArray;

/**
 * A CPU kernel: input views and static parameters to a new buffer described by `out`, whose
 * storage comes from `alloc` (default: {@linkcode allocate}).
 */
export type Kernel = (
  inputs: readonly CpuBuffer[],
  params: Params,
  out: Aval,
  alloc?: Allocate,
) => CpuBuffer;

/**
 * Called once per row by {@linkcode forEachRow}: `offsets[j]` is the row's start in operand
 * `j`, `n` its length and `steps[j]` the stride of operand `j` along it. The arrays are reused
 * between calls and must not be modified.
 */
export type RowFn = (offsets: readonly number[], n: number, steps: readonly number[]) => void;

/**
 * Walks several operands of the same logical shape in row-major order, one row at a time.
 * Dimensions of size 1 are dropped and neighbouring dimensions that are contiguous in every
 * operand are merged, so dense operands arrive as a single long row and only truly strided
 * views pay for an outer index.
 *
 * @example
 * ```ts
 * import { forEachRow } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const rows: number[][] = [];
 * forEachRow([2, 3], [[3, 1], [1, 2]], [0, 0], (o, n, s) => rows.push([...o, n, ...s]));
 * assert.deepEqual(rows, [[0, 0, 3, 1, 2], [3, 1, 3, 1, 2]]);
 * ```
 */
export function forEachRow(
  shape: Shape,
  strides: readonly (readonly number[])[],
  offsets: readonly number[],
  fn: RowFn,
): void {
  walk(shape, strides, offsets, 1, (offs, n, _rows, steps) => fn(offs, n, steps));
}

/**
 * Called once per block by {@linkcode forEachBlock}: `rows` rows of `n` elements, the first
 * starting at `offsets[j]` in operand `j`, with `steps[j]` the stride of operand `j` along a row
 * and `rowSteps[j]` from one row to the next. The arrays are reused between calls.
 */
export type BlockFn = (
  offsets: readonly number[],
  n: number,
  rows: number,
  steps: readonly number[],
  rowSteps: readonly number[],
) => void;

/**
 * {@linkcode forEachRow} two dimensions at a time: the rows of the innermost two merged
 * dimensions arrive together, for a kernel that loops over rows itself (a broadcast bias makes
 * `[N, C]` operands that cannot merge into one row; they arrive as one block of `N` rows).
 *
 * @example
 * ```ts
 * import { forEachBlock } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const blocks: number[][] = [];
 * forEachBlock([2, 3], [[3, 1], [0, 1]], [0, 0], (o, n, rows, s, rs) =>
 *   blocks.push([...o, n, rows, ...s, ...rs]));
 * assert.deepEqual(blocks, [[0, 0, 3, 2, 1, 1, 3, 0]]);
 * ```
 */
export function forEachBlock(
  shape: Shape,
  strides: readonly (readonly number[])[],
  offsets: readonly number[],
  fn: BlockFn,
): void {
  walk(shape, strides, offsets, 2, fn);
}

// The arrays of one walk, reused by later walks of as many operands at the same nesting depth
// (a row function may walk again), so that walking allocates nothing: kernels walk once or more
// per call. `offs`, `steps` and `rowSteps` have one entry per operand; the others grow as needed.
interface Scratch {
  dims: number[]; // merged dimensions, innermost first
  strides: number[]; // operand j's stride along dims[d] at d * k + j
  idx: number[];
  offs: number[];
  steps: number[];
  rowSteps: number[];
}

const scratches: Scratch[][] = [];
let depth = 0;

function scratchFor(level: number, k: number): Scratch {
  const perK = scratches[level] ??= [];
  return perK[k] ??= {
    dims: [],
    strides: [],
    idx: [],
    offs: new Array<number>(k).fill(0),
    steps: new Array<number>(k).fill(0),
    rowSteps: new Array<number>(k).fill(0),
  };
}

// The row-major walk of forEachRow (`inner` 1) and forEachBlock (`inner` 2).
function walk(
  shape: Shape,
  strides: readonly (readonly number[])[],
  offsets: readonly number[],
  inner: 1 | 2,
  fn: BlockFn,
): void {
  const s = scratchFor(depth++, strides.length);
  try {
    walkWith(s, shape, strides, offsets, inner, fn);
  } finally {
    depth--;
  }
}

function walkWith(
  s: Scratch,
  shape: Shape,
  strides: readonly (readonly number[])[],
  offsets: readonly number[],
  inner: 1 | 2,
  fn: BlockFn,
): void {
  const k = strides.length;
  const { dims, strides: st, idx, offs, steps, rowSteps } = s;
  // Built innermost-first so that merging only ever touches the last entry.
  let r = 0;
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d];
    if (n === 0) return;
    if (n === 1) continue;
    let merge = r > 0;
    for (let j = 0; merge && j < k; j++) {
      if (strides[j][d] !== st[(r - 1) * k + j] * dims[r - 1]) merge = false;
    }
    if (merge) {
      dims[r - 1] *= n;
    } else {
      dims[r] = n;
      for (let j = 0; j < k; j++) st[r * k + j] = strides[j][d];
      r++;
    }
  }
  // Missing inner dimensions are length 1 (stride 0).
  for (; r < inner; r++) {
    dims[r] = 1;
    for (let j = 0; j < k; j++) st[r * k + j] = 0;
  }
  for (let j = 0; j < k; j++) {
    offs[j] = offsets[j];
    steps[j] = st[j];
    rowSteps[j] = st[(inner - 1) * k + j];
  }
  const n = dims[0];
  const rowCount = inner === 2 ? dims[1] : 1;
  let blocks = 1;
  for (let d = inner; d < r; d++) blocks *= dims[d];
  for (let d = 0; d < r; d++) idx[d] = 0;
  for (let block = 0;;) {
    fn(offs, n, rowCount, steps, rowSteps);
    if (++block === blocks) return;
    for (let d = inner;; d++) {
      if (++idx[d] < dims[d]) {
        for (let j = 0; j < k; j++) offs[j] += st[d * k + j];
        break;
      }
      idx[d] = 0;
      const back = dims[d] - 1;
      for (let j = 0; j < k; j++) offs[j] -= st[d * k + j] * back;
    }
  }
}

/**
 * Copies a view into `dst` laid out with `dstStrides` from `dstOffset`; the element type
 * converts as typed-array assignment does (to int32 truncating toward zero, NaN to 0).
 *
 * @example
 * ```ts
 * import { copyInto, CpuBuffer } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const src = new CpuBuffer(new Float32Array([1, 2, 3, 4]), [2, 2], [1, 2]);
 * const dst = new Float32Array(4);
 * copyInto(src, dst, 0, [2, 1]);
 * assert.deepEqual([...dst], [1, 3, 2, 4]);
 * ```
 */
export function copyInto(
  src: CpuBuffer,
  dst: TypedArray,
  dstOffset: number,
  dstStrides: readonly number[],
): void {
  const s = src.data;
  forEachRow(src.shape, [src.strides, dstStrides], [src.offset, dstOffset], (o, n, steps) => {
    let si = o[0];
    let di = o[1];
    const ss = steps[0];
    const ds = steps[1];
    if (ss === 1 && ds === 1 && n >= 32) {
      dst.set(s.subarray(si, si + n), di);
      return;
    }
    for (let i = 0; i < n; i++, si += ss, di += ds) dst[di] = s[si];
  });
}

/**
 * A fresh row-major copy of a view's values, optionally converted to another dtype (for
 * `bool`, use the `convert` kernel instead: this stores raw values).
 *
 * @example
 * ```ts
 * import { CpuBuffer, pack } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const t = new CpuBuffer(new Int32Array([1, 2, 3, 4, 5, 6]), [3, 2], [1, 3]);
 * assert.deepEqual([...pack(t)], [1, 4, 2, 5, 3, 6]);
 * ```
 */
export function pack(
  src: CpuBuffer,
  dtype: DType = src.dtype,
  alloc: Allocate = allocate,
): TypedArray {
  const out = alloc(dtype, src.size, false);
  if (src.contiguous) {
    out.set(src.data.subarray(src.offset, src.offset + src.size));
  } else {
    copyInto(src, out, 0, stridesOf(src.shape));
  }
  return out;
}

/**
 * The values of a view in row-major order, sharing storage when the view is already dense.
 * Kernels use it to read inputs; the result must never be written to or handed out.
 *
 * @example
 * ```ts
 * import { CpuBuffer, dense } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const data = new Float64Array([1, 2, 3]);
 * assert.equal(dense(new CpuBuffer(data, [3])), data);
 * ```
 */
export function dense(src: CpuBuffer): TypedArray {
  if (!src.contiguous) return pack(src);
  if (src.offset === 0 && src.data.length === src.size) return src.data;
  return src.data.subarray(src.offset, src.offset + src.size);
}

/**
 * The product of `shape[begin:end]`.
 *
 * @example
 * ```ts
 * import { prod } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * assert.equal(prod([2, 3, 4], 1, 3), 12);
 * ```
 */
export function prod(shape: Shape, begin = 0, end: number = shape.length): number {
  let n = 1;
  for (let i = begin; i < end; i++) n *= shape[i];
  return n;
}
