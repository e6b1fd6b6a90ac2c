/**
 * A small allocator over one `WebAssembly.Memory`: a bump pointer plus an address-ordered free
 * list with coalescing. Tensors of a training loop come back in the same few sizes, so freed
 * blocks are reused exactly and memory stays flat; the memory grows (in place, since it is
 * shared) only when no free block fits.
 *
 * @example
 * ```ts
 * import { Allocator } from "./_allocator.ts";
 * const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
 * const heap = new Allocator(memory);
 * const p = heap.alloc(4096);
 * heap.f32().fill(1, p / 4, p / 4 + 1024);
 * heap.free(p);
 * ```
 *
 * @module
 */

const PAGE = 65536;

/** Usage counters of an {@linkcode Allocator}, in bytes. */
export interface AllocatorStats {
  /** Bytes in live blocks. */
  used: number;
  /** Highest `used` seen. */
  peak: number;
  /** Bytes of the heap region handed out so far (live + free blocks). */
  top: number;
  /** Current size of the memory. */
  memoryBytes: number;
  /** Number of live blocks. */
  blocks: number;
}

/**
 * Bump + free-list allocator of byte ranges in a Wasm memory.
 *
 * @example
 * ```ts
 * import { Allocator } from "./_allocator.ts";
 * const heap = new Allocator(new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true }));
 * const a = heap.alloc(100);
 * heap.free(a);
 * console.log(heap.alloc(100) === a); // true: the freed block is reused
 * ```
 */
export class Allocator {
  /** The memory being managed. */
  readonly memory: WebAssembly.Memory;
  /** Alignment of every block (bytes); 64 keeps blocks on their own cache lines. */
  readonly align: number;
  readonly #live = new Map<number, number>(); // ptr -> size
  // Free blocks sorted by address, as parallel arrays (cheap binary search, no objects).
  readonly #freePtr: number[] = [];
  readonly #freeSize: number[] = [];
  #top: number;
  #used = 0;
  #peak = 0;
  #f32: Float32Array | undefined;
  #i32: Int32Array | undefined;
  #u8: Uint8Array | undefined;

  /**
   * Manages `memory` from byte `base` (rounded up to `align`) upwards; bytes below `base` are
   * left to the caller (e.g. a thread control block).
   */
  constructor(memory: WebAssembly.Memory, base = 0, align = 64) {
    if (align <= 0 || (align & (align - 1)) !== 0) throw new RangeError("align: power of two");
    this.memory = memory;
    this.align = align;
    this.#top = Math.max(align, Math.ceil(base / align) * align); // never hand out address 0
  }

  /**
   * Allocates `bytes` (rounded up to the alignment) and returns the byte offset. Grows the
   * memory when needed; throws a RangeError naming the size when the maximum is reached.
   */
  alloc(bytes: number): number {
    if (!(bytes >= 0) || !Number.isFinite(bytes)) {
      throw new RangeError(`alloc: bad size ${bytes}`);
    }
    const size = Math.max(this.align, Math.ceil(bytes / this.align) * this.align);
    let ptr = this.#takeFree(size);
    if (ptr < 0) {
      ptr = this.#top;
      this.#ensure(ptr + size);
      this.#top = ptr + size;
    }
    this.#live.set(ptr, size);
    this.#used += size;
    if (this.#used > this.#peak) this.#peak = this.#used;
    return ptr;
  }

  /** Returns a block from {@linkcode Allocator.alloc}; freeing twice throws. */
  free(ptr: number): void {
    const size = this.#live.get(ptr);
    if (size === undefined) throw new Error(`free: ${ptr} is not a live block`);
    this.#live.delete(ptr);
    this.#used -= size;
    this.#insertFree(ptr, size);
  }

  /** Bytes in live blocks (as in {@linkcode Allocator.stats}, without building the record). */
  get used(): number {
    return this.#used;
  }

  /** Size in bytes of the live block at `ptr` (after rounding), or undefined. */
  sizeOf(ptr: number): number | undefined {
    return this.#live.get(ptr);
  }

  /** Counters for tests and memory reports. */
  stats(): AllocatorStats {
    return {
      used: this.#used,
      peak: this.#peak,
      top: this.#top,
      memoryBytes: this.memory.buffer.byteLength,
      blocks: this.#live.size,
    };
  }

  /** A Float32Array over the whole memory, refreshed after the memory grew. */
  f32(): Float32Array {
    const buf = this.memory.buffer;
    if (this.#f32?.buffer.byteLength !== buf.byteLength) this.#f32 = new Float32Array(buf);
    return this.#f32;
  }

  /** An Int32Array over the whole memory, refreshed after the memory grew. */
  i32(): Int32Array {
    const buf = this.memory.buffer;
    if (this.#i32?.buffer.byteLength !== buf.byteLength) this.#i32 = new Int32Array(buf);
    return this.#i32;
  }

  /** A Uint8Array over the whole memory, refreshed after the memory grew. */
  u8(): Uint8Array {
    const buf = this.memory.buffer;
    if (this.#u8?.buffer.byteLength !== buf.byteLength) this.#u8 = new Uint8Array(buf);
    return this.#u8;
  }

  // Best fit: the smallest free block that holds `size`; the rest stays free.
  #takeFree(size: number): number {
    let best = -1;
    for (let i = 0; i < this.#freeSize.length; i++) {
      const s = this.#freeSize[i];
      if (s >= size && (best < 0 || s < this.#freeSize[best])) {
        best = i;
        if (s === size) break;
      }
    }
    if (best < 0) return -1;
    const ptr = this.#freePtr[best];
    const rest = this.#freeSize[best] - size;
    if (rest > 0) {
      this.#freePtr[best] = ptr + size;
      this.#freeSize[best] = rest;
    } else {
      removeAt(this.#freePtr, best);
      removeAt(this.#freeSize, best);
    }
    return ptr;
  }

  #insertFree(ptr: number, size: number): void {
    const ptrs = this.#freePtr, sizes = this.#freeSize;
    let lo = 0, hi = ptrs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ptrs[mid] < ptr) lo = mid + 1;
      else hi = mid;
    }
    // Coalesce with the previous and next neighbours so sizes do not fragment over time.
    if (lo > 0 && ptrs[lo - 1] + sizes[lo - 1] === ptr) {
      lo--;
      ptr = ptrs[lo];
      size += sizes[lo];
      removeAt(ptrs, lo);
      removeAt(sizes, lo);
    }
    if (lo < ptrs.length && ptr + size === ptrs[lo]) {
      size += sizes[lo];
      removeAt(ptrs, lo);
      removeAt(sizes, lo);
    }
    if (ptr + size === this.#top) {
      this.#top = ptr; // the block touches the bump pointer: give it back to the bump region
      return;
    }
    insertAt(ptrs, lo, ptr);
    insertAt(sizes, lo, size);
  }

  #ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    // Grow geometrically so a growing workload does not pay one grow per allocation.
    const need = Math.ceil((end - have) / PAGE);
    const pages = Math.max(need, Math.ceil(have / PAGE / 4));
    try {
      this.memory.grow(pages);
    } catch {
      try {
        this.memory.grow(need);
      } catch {
        throw new RangeError(
          `wasm heap exhausted: cannot grow memory of ${have} bytes to ${end} bytes`,
        );
      }
    }
  }
}

// In-place edits of the free list: `splice` would make an array of the removed items per call,
// and the allocator runs once or twice per kernel.
function removeAt(list: number[], i: number): void {
  for (let j = i + 1; j < list.length; j++) list[j - 1] = list[j];
  list.pop();
}

function insertAt(list: number[], i: number, value: number): void {
  list.push(value);
  for (let j = list.length - 1; j > i; j--) list[j] = list[j - 1];
  list[i] = value;
}
