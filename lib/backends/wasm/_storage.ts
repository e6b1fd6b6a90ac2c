/**
 * Tensor storage in the shared Wasm heap. Every array handed out is a typed-array view onto one
 * block of the context's memory. A kernel's result is adopted as a block held by its tensor's
 * {@linkcode WasmBuffer}; views of a tensor (reshape, transpose, slice, broadcast) hold the same
 * block, and the block goes back to the allocator when its last holder lets go. Arrays a kernel
 * made and dropped are swept after it.
 *
 * Blocks can also be evicted: their values move to ordinary arrays, which the garbage collector
 * manages, and every buffer holding them is rebased onto the copy. That is how memory comes back
 * in a synchronous loop, where the finalizers of collected tensors never get to run.
 *
 * The memory is shared, so growing it never detaches the views already handed out.
 *
 * @example
 * ```ts
 * import { HeapStorage, WasmBuffer } from "./_storage.ts";
 * import { WasmContext } from "./_context.ts";
 * import { CpuBuffer } from "../cpu/mod.ts";
 * import assert from "node:assert/strict";
 * const heap = new HeapStorage(new WasmContext({ threads: 1 }));
 * const before = heap.stats().blocks;
 * const a = heap.array("float32", 4);
 * heap.array("float32", 4); // scratch: never adopted
 * const buffer = new WasmBuffer(new CpuBuffer(a, [4]), heap.adopt(a)!);
 * heap.sweep();
 * assert.equal(heap.stats().blocks, before + 1);
 * heap.release(buffer.hold);
 * assert.equal(heap.stats().blocks, before);
 * ```
 *
 * @module
 */

import type { DType, TypedArray } from "../../core/dtype.ts";
import { CpuBuffer } from "../cpu/mod.ts";
import type { AllocatorStats } from "./_allocator.ts";
import type { WasmContext } from "./_context.ts";

/** One allocation of the heap and the buffers that hold it (a tensor and its views). */
export interface Block {
  /** Its byte address. */
  readonly ptr: number;
  /** The buffers viewing it; it is freed when the last one lets go. */
  readonly holders: WasmBuffer[];
  /** Its place in the storage's list of held blocks. */
  index: number;
}

/**
 * One buffer's claim on a block: what a finalizer keeps to release the block when the buffer's
 * tensor is collected. It never references the values, so a claim outliving an eviction keeps
 * nothing but itself alive.
 */
export interface Hold {
  /** The block held; `null` once released or evicted. */
  block: Block | null;
}

/** A tensor's storage on the wasm device: a strided view, usually of a heap block. */
export class WasmBuffer {
  /** The values: a CPU view whose storage is in the heap, or an ordinary array. */
  view: CpuBuffer;
  /** This buffer's claim on its heap block. */
  readonly hold: Hold;

  /** Wraps a view of `block` (or of an ordinary array when `block` is `null`). */
  constructor(view: CpuBuffer, block: Block | null) {
    this.view = view;
    this.hold = { block };
    block?.holders.push(this);
  }

  /** The heap block the view lives in; `null` for ordinary arrays. */
  get block(): Block | null {
    return this.hold.block;
  }
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
 * Held typed-array blocks in a {@linkcode WasmContext}'s heap.
 *
 * @example
 * ```ts
 * import { HeapStorage } from "./_storage.ts";
 * import { WasmContext } from "./_context.ts";
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
  #generation: ArrayBufferLike | null = null; // the newest of them
  // Arrays made since the last `sweep()`; whichever was not adopted was a kernel's scratch.
  readonly #fresh: TypedArray[] = [];
  readonly #adopted: boolean[] = [];
  // The held blocks, in no order. A list with swap-removal rather than a Set: a Set keeps
  // deleted entries (and through them the buffers of freed blocks) until it next rehashes,
  // and with a block or two freed per kernel that kept every minor collection copying them.
  readonly #blocks: Block[] = [];

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
    if (memory !== this.#generation) this.#generations.add(this.#generation = memory);
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
   * The block of an array made since the last sweep, kept past the sweep for the buffers that
   * will hold it; `undefined` when `array` is not such an array.
   */
  adopt(array: TypedArray): Block | undefined {
    const i = this.#fresh.lastIndexOf(array);
    if (i < 0 || this.#adopted[i]) return undefined;
    this.#adopted[i] = true;
    const block: Block = { ptr: array.byteOffset, holders: [], index: this.#blocks.length };
    this.#blocks.push(block);
    return block;
  }

  /** Ends one claim on a block, freeing the block when no holder is left. Idempotent. */
  release(hold: Hold): void {
    const block = hold.block;
    if (block === null) return;
    hold.block = null;
    const { holders } = block;
    let i = 0;
    while (holders[i].hold !== hold) i++;
    holders[i] = holders[holders.length - 1];
    holders.pop();
    if (holders.length === 0) {
      const last = this.#blocks.pop()!;
      if (last !== block) {
        this.#blocks[block.index] = last;
        last.index = block.index;
      }
      this.ctx.heap.free(block.ptr);
    }
  }

  /**
   * Moves the values of every held block to ordinary arrays, rebases the buffers holding them
   * onto the copies, and frees the blocks. Returns the bytes moved. Must not run while a kernel
   * is reading or writing blocks.
   */
  evict(): number {
    let moved = 0;
    for (const block of this.#blocks) {
      const copies = new Map<TypedArray, TypedArray>();
      for (const buffer of block.holders) {
        const { data, shape, strides, offset } = buffer.view;
        let copy = copies.get(data);
        if (copy === undefined) {
          copies.set(data, copy = data.slice());
          moved += copy.byteLength;
        }
        buffer.view = new CpuBuffer(copy, shape, strides, offset);
        buffer.hold.block = null;
      }
      this.ctx.heap.free(block.ptr);
    }
    this.#blocks.length = 0;
    return moved;
  }

  /** Frees the arrays made since the last sweep that were not adopted (kernel scratch). */
  sweep(): void {
    for (let i = 0; i < this.#fresh.length; i++) {
      if (!this.#adopted[i]) this.ctx.heap.free(this.#fresh[i].byteOffset);
    }
    this.#fresh.length = 0;
    this.#adopted.length = 0;
  }

  /** Live blocks and bytes of the heap. */
  stats(): AllocatorStats {
    return this.ctx.heap.stats();
  }
}
