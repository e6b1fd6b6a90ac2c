/**
 * How heap memory comes back when tensors are dropped without `dispose()`. Their blocks return
 * through finalizers, and finalizers run only as tasks of the event loop, never inside a
 * synchronous stretch of code. So:
 *
 * - Reading a value (`await x.data()`) turns the event loop when much was allocated since it
 *   last turned, letting the finalizers give their blocks back before the heap grows further.
 * - A stretch that never turns the loop (a synchronous training loop) would keep every block.
 *   When the heap has grown by more than a limit since the loop last turned, every block is
 *   evicted to ordinary memory (see `HeapStorage.evict`), where the garbage collector frees the
 *   dead ones without any finalizer. The heap then works as a nursery: the values that are
 *   still alive leave it once, and kernels stage them back when they read them.
 *
 * The limit learns from the turns it sees: after a stretch without eviction it is twice the most
 * the heap grew in that stretch (at least 32 MiB); after one with evictions it doubles. So one
 * big training step, whose working set legitimately fills the heap, is evicted in the first
 * steps of a loop that turns, not in every step.
 *
 * @example
 * ```ts
 * import { Reclaimer } from "./_reclaim.ts";
 * import { HeapStorage, WasmBuffer } from "./_storage.ts";
 * import { WasmContext } from "./_context.ts";
 * import { CpuBuffer } from "../cpu/mod.ts";
 * import assert from "node:assert/strict";
 * const heap = new HeapStorage(new WasmContext({ threads: 1 }));
 * const before = heap.stats().used;
 * const reclaimer = new Reclaimer(heap, { floor: 1024 });
 * const a = heap.array("float32", 1024);
 * const x = new WasmBuffer(new CpuBuffer(a, [1024]), heap.adopt(a)!);
 * heap.sweep();
 * reclaimer.beforeKernel(); // 4 KiB grown since the last turn: more than the limit
 * assert.equal(x.block, null); // the values moved to an ordinary array
 * assert.equal(heap.stats().used, before);
 * ```
 *
 * @module
 */

import type { HeapStorage } from "./_storage.ts";

/** Options of a {@linkcode Reclaimer}. */
export interface ReclaimOptions {
  /** The least growth (bytes) since the last turn that triggers an eviction; default 32 MiB. */
  floor?: number;
  /** Growth (bytes) since the last turn after which a read turns the loop; default 16 MiB. */
  turnAfter?: number;
}

/** Decides when the event loop is turned and when the heap is evicted. */
export class Reclaimer {
  readonly #heap: HeapStorage;
  readonly #floor: number;
  readonly #turnAfter: number;
  #limit: number;
  // Bytes in use when the loop last turned or the heap was last evicted.
  #base: number;
  // Since the loop last turned: the most the heap grew over `#base`, and whether it was evicted.
  #peak = 0;
  #evicted = false;

  /** A reclaimer for `heap`. */
  constructor(heap: HeapStorage, opts: ReclaimOptions = {}) {
    this.#heap = heap;
    this.#floor = opts.floor ?? 32 << 20;
    this.#turnAfter = opts.turnAfter ?? 16 << 20;
    this.#limit = this.#floor;
    this.#base = heap.ctx.heap.used;
  }

  /** Runs before every kernel, when no block is in use: evicts when the heap grew too much. */
  beforeKernel(): void {
    const growth = this.#heap.ctx.heap.used - this.#base;
    if (growth > this.#peak) this.#peak = growth;
    if (growth <= this.#limit) return;
    this.#heap.evict();
    this.#base = this.#heap.ctx.heap.used;
    this.#evicted = true;
  }

  /**
   * Resolves with `value`, first turning the event loop when the heap grew much since it last
   * turned (so that finalizers run).
   */
  settle<T>(value: T): Promise<T> {
    const growth = this.#heap.ctx.heap.used - this.#base;
    if (Math.max(growth, this.#peak) < this.#turnAfter) return Promise.resolve(value);
    // (`setImmediate`: a task without the milliseconds that nested `setTimeout`s are clamped to.)
    return new Promise((resolve) =>
      setImmediate(() => {
        this.#turned();
        resolve(value);
      })
    );
  }

  #turned(): void {
    this.#limit = this.#evicted ? 2 * this.#limit : Math.max(this.#floor, 2 * this.#peak);
    this.#base = this.#heap.ctx.heap.used;
    this.#peak = 0;
    this.#evicted = false;
  }
}
