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
 * Registering a tensor for finalization is worth it only if the loop turns while the tensor may
 * still die: in a stretch that never turns, the registry keeps a cell for every tensor that died
 * (a few hundred bytes each, piling up for as long as the stretch lasts) and keeps the tensors
 * themselves alive through minor collections. So a stretch that has registered many tensors
 * without a turn registers no more: the blocks of its later tensors leave the heap by eviction
 * only, and when the loop turns at last, the blocks still there are evicted at once.
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
  /**
   * Tensors registered for finalization since the last turn after which a read turns the loop;
   * a stretch that registers four times as many without a turn registers no more. Default 1024.
   */
  registrations?: number;
}

/** Decides when the event loop is turned, when the heap is evicted, and what is registered. */
export class Reclaimer {
  readonly #heap: HeapStorage;
  readonly #floor: number;
  readonly #turnAfter: number;
  readonly #registrations: number;
  #limit: number;
  // Bytes in use when the loop last turned or the heap was last evicted.
  #base: number;
  // Since the loop last turned: the most the heap grew over `#base`, whether it was evicted,
  // the tensors registered, and whether some were left unregistered.
  #peak = 0;
  #evicted = false;
  #registered = 0;
  #unregistered = false;
  // Whether a task is queued to note the next turn.
  #watching = false;
  // Compiled programs running (nested: a loop's body inside its program).
  #planned = 0;

  /** A reclaimer for `heap`. */
  constructor(heap: HeapStorage, opts: ReclaimOptions = {}) {
    this.#heap = heap;
    this.#floor = opts.floor ?? 32 << 20;
    this.#turnAfter = opts.turnAfter ?? 16 << 20;
    this.#registrations = opts.registrations ?? 1024;
    this.#limit = this.#floor;
    this.#base = heap.ctx.heap.used;
  }

  /**
   * Runs before every kernel, when no block is in use: evicts when the heap grew too much,
   * except inside a compiled program.
   */
  beforeKernel(): void {
    if (this.#planned > 0) return;
    this.#watch();
    const growth = this.#heap.ctx.heap.used - this.#base;
    if (growth > this.#peak) this.#peak = growth;
    if (growth <= this.#limit) return;
    this.#evict();
    this.#evicted = true;
  }

  /**
   * Runs `f`, a compiled program, without evicting: its blocks are its working set, freed by
   * the program as each value dies, and evicting them in the middle would copy them out and
   * back in, again and again as the set grows (a long `scan` keeps a residual per step).
   * Garbage made before the program may be evicted once, first.
   */
  planned<T>(f: () => T): T {
    this.beforeKernel();
    this.#planned++;
    try {
      return f();
    } finally {
      this.#planned--;
    }
  }

  /** Whether a compiled program is running (see {@linkcode Reclaimer.planned}). */
  get planning(): boolean {
    return this.#planned > 0;
  }

  /**
   * Whether a new tensor holding a heap block should be registered for finalization: no once
   * the stretch since the last turn has registered four times `registrations` tensors.
   */
  collectable(): boolean {
    this.#watch();
    if (this.#registered >= 4 * this.#registrations) {
      this.#unregistered = true;
      return false;
    }
    this.#registered++;
    return true;
  }

  /**
   * Resolves with `value`, first turning the event loop when much was allocated or registered
   * since it last turned (so that finalizers run).
   */
  settle<T>(value: T): Promise<T> {
    const growth = this.#heap.ctx.heap.used - this.#base;
    const turn = Math.max(growth, this.#peak) >= this.#turnAfter ||
      this.#registered >= this.#registrations;
    if (!turn) return Promise.resolve(value);
    this.#watch();
    // Queued after the watch's task, so the turn has been noted when the value arrives.
    // (`setImmediate`: a task without the milliseconds that nested `setTimeout`s are clamped to.)
    return new Promise((resolve) => setImmediate(() => resolve(value)));
  }

  // Queues a task that runs when the loop next turns, unless one is queued already.
  #watch(): void {
    if (this.#watching) return;
    this.#watching = true;
    setImmediate(() => this.#turned());
  }

  #turned(): void {
    this.#watching = false;
    this.#limit = this.#evicted ? 2 * this.#limit : Math.max(this.#floor, 2 * this.#peak);
    // No kernel runs between tasks, so the blocks the stretch left unregistered can go now.
    if (this.#unregistered) this.#evict();
    this.#base = this.#heap.ctx.heap.used;
    this.#peak = 0;
    this.#evicted = false;
    this.#registered = 0;
    this.#unregistered = false;
  }

  #evict(): void {
    this.#heap.evict();
    this.#base = this.#heap.ctx.heap.used;
  }
}
