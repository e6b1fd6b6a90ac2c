/**
 * The WebGPU buffer handle: a strided view over reference-counted GPU storage. Values never
 * change after a kernel writes them, so reshape, broadcast, transpose and slice are O(1) views
 * sharing storage; the storage goes back to the pool when its last view is released, so
 * disposing one tensor never frees memory another tensor still reads.
 *
 * @module
 */

import type { DType } from "../../core/dtype.ts";
import { isRowMajor, type Shape, sizeOf, stridesOf } from "../../core/shape.ts";

/** A GPU buffer shared by views, with the number of live views holding it. */
export class GpuStorage {
  /** The buffer (from the pool). */
  readonly buffer: GPUBuffer;
  /** Live views over it; at zero the buffer goes back to the pool. */
  refs = 1;
  /**
   * The bits of its one value when it was uploaded as a single value: kernels may read such a
   * constant from their parameters instead of binding the buffer.
   */
  bits: number | null = null;
  /** Called once when the last view is released. */
  readonly #free: (buffer: GPUBuffer, collected: boolean) => void;

  /** Wraps a pooled buffer; `free` returns it to the pool. */
  constructor(buffer: GPUBuffer, free: (buffer: GPUBuffer, collected: boolean) => void) {
    this.buffer = buffer;
    this.#free = free;
  }

  /**
   * Drops one reference, freeing the buffer with the last (`collected` when the garbage
   * collector drops it).
   */
  unref(collected = false): void {
    if (--this.refs === 0) this.#free(this.buffer, collected);
  }
}

/**
 * A view: element `[i0, i1, ...]` lives at element `offset + i0 * strides[0] + ...` of the
 * storage. Every dtype takes 4 bytes (bool as u32 0/1).
 *
 * @example
 * ```ts
 * import { GpuArray } from "./_array.ts";
 * import assert from "node:assert/strict";
 * // Views only need their storage to exist when a kernel runs; layout logic needs none.
 * const v = GpuArray.layout([2, 3], [1, 2], 0, "float32");
 * assert.ok(!v.contiguous);
 * ```
 */
export class GpuArray {
  /** The storage, shared with other views. */
  readonly storage: GpuStorage;
  /** The dimensions of the view. */
  readonly shape: readonly number[];
  /** The step in elements per index of each dimension (0 for a broadcast dimension). */
  readonly strides: readonly number[];
  /** The element index of `[0, 0, ...]`. */
  readonly offset: number;
  /** The element type. */
  readonly dtype: DType;
  /** The number of elements. */
  readonly size: number;
  /** Whether the view is row-major and dense from `offset`. */
  readonly contiguous: boolean;
  /** Set once this view has released its reference on the storage. */
  released = false;

  /** A view over storage; the caller gives it one reference on `storage`. */
  constructor(
    storage: GpuStorage,
    shape: Shape,
    strides: readonly number[],
    offset: number,
    dtype: DType,
  ) {
    this.storage = storage;
    this.shape = shape;
    this.strides = strides;
    this.offset = offset;
    this.dtype = dtype;
    this.size = sizeOf(shape);
    this.contiguous = isRowMajor(shape, strides);
  }

  /** A storage-less view, for layout computations and their tests. */
  static layout(shape: Shape, strides: readonly number[], offset: number, dtype: DType): GpuArray {
    return new GpuArray(null as unknown as GpuStorage, shape, strides, offset, dtype);
  }

  /** Another view of the same storage, holding its own reference. */
  view(shape: Shape, strides: readonly number[], offset: number, dtype = this.dtype): GpuArray {
    this.storage.refs++;
    return new GpuArray(this.storage, shape, strides, offset, dtype);
  }

  /**
   * Releases this view's reference (idempotent); `collected` when the garbage collector
   * releases it.
   */
  release(collected = false): void {
    if (this.released) return;
    this.released = true;
    this.storage.unref(collected);
  }

  /** The GPU buffer under the view. */
  get buffer(): GPUBuffer {
    return this.storage.buffer;
  }
}

/** Operands after {@linkcode collapse}: a shorter shape and one stride list per operand. */
export interface Collapsed {
  /** The merged dimensions (size-1 dimensions dropped). */
  shape: number[];
  /** For each operand, its strides along the merged dimensions. */
  strides: number[][];
}

/**
 * Simplifies the common iteration space of several operands: drops size-1 dimensions and
 * merges neighbours that are contiguous in every operand, so that most kernels see rank 0
 * or 1 and generated shaders are shared across shapes.
 *
 * @example
 * ```ts
 * import { collapse } from "./_array.ts";
 * import assert from "node:assert/strict";
 * // A [2,3,4] dense operand and a broadcast row: the first two dims merge.
 * const c = collapse([2, 3, 4], [[12, 4, 1], [0, 0, 1]]);
 * assert.deepEqual(c, { shape: [6, 4], strides: [[4, 1], [0, 1]] });
 * ```
 */
export function collapse(shape: Shape, strides: readonly (readonly number[])[]): Collapsed {
  const k = strides.length;
  // Built innermost-first so that merging only touches the last entry.
  const dims: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d];
    if (n === 1) continue;
    const last = dims.length - 1;
    let merge = last >= 0;
    for (let j = 0; merge && j < k; j++) {
      if (strides[j][d] !== st[j][last] * dims[last]) merge = false;
    }
    if (merge) {
      dims[last] *= n;
    } else {
      dims.push(n);
      for (let j = 0; j < k; j++) st[j].push(strides[j][d]);
    }
  }
  return { shape: dims.reverse(), strides: st.map((s) => s.reverse()) };
}

/** Row-major strides, re-exported for the kernel files. */
export { stridesOf };
