/**
 * Tensor storage in the shared Wasm heap. Every array handed out is a typed-array view onto one
 * block of the context's memory. A kernel's result is adopted as a block owned by its tensor;
 * views of a tensor (reshape, transpose, slice, broadcast) share its block, counted once per
 * owning tensor, and the block goes back to the allocator when its last owner is released.
 * Arrays a kernel made and dropped are swept after it.
 *
 * The memory is shared, so growing it never detaches the views already handed out.
 *
 * @example
 * ```ts
 * import { HeapStorage } from "./storage.ts";
 * import { WasmContext } from "./context.ts";
 * import assert from "node:assert/strict";
 * const heap = new HeapStorage(new WasmContext({ threads: 1 }));
 * const before = heap.stats().blocks;
 * const a = heap.array("float32", 4);
 * heap.array("float32", 4); // scratch: never adopted
 * const block = heap.adopt(a)!;
 * heap.sweep();
 * assert.equal(heap.stats().blocks, before + 1);
 * heap.release(block);
 * assert.equal(heap.stats().blocks, before);
 * ```
 *
 * @module
 */

import type { DType, TypedArray } from "../../core/dtype.ts";
import type { AllocatorStats } from "./allocator.ts";
import type { WasmContext } from "./context.ts";

/** One allocation of the heap, counted once per tensor that owns it (views share it). */
export interface Block {
  /** Its byte address. */
  readonly ptr: number;
  /** Tensors that hold it. */
  owners: number;
}

const ELEMENT = {
  float32: Float32Array,
  int32: Int32Array,
  bool: Uint8Array,
} as const;

// SIMD kernels process whole 16-byte vectors and may read or write up to 12 bytes past a row's
// end; this slack after every block keeps those bytes inside the block.
const SLACK = 16;

/**
 * Owner-counted typed-array blocks in a {@linkcode WasmContext}'s heap.
 *
 * @example
 * ```ts
 * import { HeapStorage } from "./storage.ts";
 * import { WasmContext } from "./context.ts";
 * import assert from "node:assert/strict";
 * const ctx = new WasmContext({ threads: 1 });
 * const heap = new HeapStorage(ctx);
 * const x = heap.array("int32", 3);
 * assert.equal(heap.address(x), x.byteOffset);
 * assert.equal(heap.address(new Int32Array(3)), undefined);
 * ```
 */
export class HeapStorage {
  /** The context whose memory holds the blocks. */
  readonly ctx: WasmContext;
  // Every SharedArrayBuffer the memory has shown (one per size it grew to): the arrays handed
  // out view one of these.
  readonly #generations = new Set<ArrayBufferLike>();
  // Arrays made since the last `sweep()`; whichever was not adopted was a kernel's scratch.
  #fresh: TypedArray[] = [];
  #adopted: boolean[] = [];

  /** Storage in `ctx`'s heap. */
  constructor(ctx: WasmContext) {
    this.ctx = ctx;
  }

  /**
   * A new array of `size` elements in the heap (zero-filled when `zero`; fast kernels that
   * write every element skip that). float64 is not a heap type: it gets an ordinary array.
   */
  array(dtype: DType, size: number, zero = true): TypedArray {
    if (dtype === "float64") return new Float64Array(size);
    const Ctor = ELEMENT[dtype];
    const ptr = this.ctx.heap.alloc(size * Ctor.BYTES_PER_ELEMENT + SLACK);
    const memory = this.ctx.memory.buffer;
    this.#generations.add(memory);
    // A SharedArrayBuffer, typed as the ArrayBuffer that `TypedArray` (and every kernel) uses.
    const array = new Ctor(memory as ArrayBuffer, ptr, size);
    if (zero) array.fill(0);
    this.#fresh.push(array);
    this.#adopted.push(false);
    return array;
  }

  /** The byte address of `array`'s first element, or `undefined` when it is not in the heap. */
  address(array: TypedArray): number | undefined {
    return this.#generations.has(array.buffer) ? array.byteOffset : undefined;
  }

  /** Whether `array` was made since the last sweep (and not adopted yet). */
  isFresh(array: TypedArray): boolean {
    const i = this.#fresh.lastIndexOf(array);
    return i >= 0 && !this.#adopted[i];
  }

  /**
   * The block of an array made since the last sweep, now owned by one tensor; `undefined`
   * when `array` is not such an array.
   */
  adopt(array: TypedArray): Block | undefined {
    const i = this.#fresh.lastIndexOf(array);
    if (i < 0 || this.#adopted[i]) return undefined;
    this.#adopted[i] = true;
    return { ptr: array.byteOffset, owners: 1 };
  }

  /** Drops one owner of a block, freeing it when none is left. */
  release(block: Block): void {
    if (--block.owners === 0) this.ctx.heap.free(block.ptr);
  }

  /** Frees the arrays made since the last sweep that were not adopted (kernel scratch). */
  sweep(): void {
    for (let i = 0; i < this.#fresh.length; i++) {
      if (!this.#adopted[i]) this.ctx.heap.free(this.#fresh[i].byteOffset);
    }
    this.#fresh = [];
    this.#adopted = [];
  }

  /** Live blocks and bytes of the heap. */
  stats(): AllocatorStats {
    return this.ctx.heap.stats();
  }
}
