/**
 * A size-bucketed pool of GPU storage buffers. Creating a `GPUBuffer` is slow and its memory
 * is invisible to the garbage collector, so buffers released by tensors are kept, by bucket,
 * and handed out again.
 *
 * A released buffer may still be named by commands that are recorded but not yet submitted.
 * Another command of the same batch may reuse it at once (commands run in order), but a
 * `writeBuffer` runs at the queue, before the whole batch, and could overwrite values those
 * commands still need. Released buffers therefore wait in a pending list, open to kernel
 * outputs only, until the next submit ({@linkcode BufferPool.commit}); after it, every use is
 * ordered behind the old commands by the queue.
 *
 * Each bucket hands out the buffer released last. A buffer that the garbage collector gives
 * back (from a tensor nobody disposed) goes under the others instead: a loop that releases and
 * takes its own buffers in a fixed order keeps getting them in that order however late the
 * collector runs, so the bind groups cached for them stay valid.
 *
 * A pool may instead hand out the free buffer it made first (`order: "firstMade"`): then a set
 * of buffers released and taken again in the same order goes to the same takers even when
 * one of the set never comes back (a result the caller dropped), where the last-released
 * order would shift every later taker by one.
 *
 * @module
 */

/** Counters describing the pool, for tests and diagnostics. */
export interface PoolStats {
  /** GPU buffers created so far. */
  created: number;
  /** GPU buffers destroyed because the pool was over its byte cap. */
  destroyed: number;
  /** Buffers handed out and not yet released. */
  live: number;
  /** Bytes of the buffers handed out and not yet released. */
  liveBytes: number;
  /** Released buffers waiting for the next submit before they can be reused. */
  pending: number;
  /** Released buffers ready for reuse. */
  free: number;
  /** Bytes of the pending and free buffers. */
  pooledBytes: number;
  /** Requests served from the pool. */
  hits: number;
  /** Requests that had to create a buffer. */
  misses: number;
}

/** The smallest bucket: tiny tensors (scalars) share it. */
const MIN_BUCKET = 256;

/**
 * The garbage collector cannot see GPU memory: a loop whose tensors are large on the GPU but
 * small in JavaScript could fill the GPU long before V8 felt a need to collect them (and so to
 * run the finalizers that give their buffers back). So each new buffer of 64 KiB or more
 * allocates a throw-away `ArrayBuffer` of a quarter of its size, which V8 counts as external
 * memory: growth of the pool schedules collections, while reuse (a pool hit) costs nothing.
 */
let _pressure: ArrayBuffer | null = null;
const PRESSURE_FROM = 64 << 10;

/**
 * The bucket a request of `bytes` falls in: four buckets per power of two, so at most a quarter
 * of a buffer is wasted while nearby sizes still share buffers.
 *
 * @example
 * ```ts
 * import { bucketSize } from "./_pool.ts";
 * import assert from "node:assert/strict";
 * assert.equal(bucketSize(4), 256);
 * assert.equal(bucketSize(1000), 1024);
 * assert.equal(bucketSize(1100), 1280);
 * ```
 */
export function bucketSize(bytes: number): number {
  if (bytes <= MIN_BUCKET) return MIN_BUCKET;
  const top = 2 ** Math.floor(Math.log2(bytes - 1));
  const step = top / 4;
  return Math.ceil(bytes / step) * step;
}

/** Which free buffer of a bucket a {@linkcode BufferPool} hands out. */
export type PoolOrder = "lastReleased" | "firstMade";

/**
 * Buffers grouped by bucket size. The device and usage are fixed per pool.
 *
 * @example
 * ```ts
 * import { BufferPool } from "./_pool.ts";
 * import assert from "node:assert/strict";
 * const adapter = await navigator.gpu?.requestAdapter();
 * if (adapter) {
 *   const device = await adapter.requestDevice();
 *   const pool = new BufferPool(device, GPUBufferUsage.STORAGE, 1 << 20);
 *   const a = pool.acquire(100);
 *   pool.release(a);
 *   pool.commit();
 *   assert.equal(pool.acquire(200), a); // same bucket, reused
 *   device.destroy();
 * }
 * ```
 */
export class BufferPool {
  readonly #device: GPUDevice;
  readonly #usage: number;
  readonly #maxPooledBytes: number;
  readonly #maxBuffer: number;
  readonly #order: PoolOrder;
  // With "firstMade": each buffer's rank in order of creation.
  readonly #rank = new WeakMap<GPUBuffer, number>();
  #made = 0;
  readonly #free = new Map<number, GPUBuffer[]>();
  readonly #pending = new Map<number, GPUBuffer[]>();
  readonly #collected: GPUBuffer[] = [];
  readonly #stats: PoolStats = {
    created: 0,
    destroyed: 0,
    live: 0,
    liveBytes: 0,
    pending: 0,
    free: 0,
    pooledBytes: 0,
    hits: 0,
    misses: 0,
  };

  /**
   * A pool creating buffers with `usage`, keeping at most `maxPooledBytes` released bytes;
   * no buffer exceeds `maxBuffer` bytes (default: the device's storage binding limit). Each
   * bucket hands out the buffer released last, or, by `order`, the one made first.
   */
  constructor(
    device: GPUDevice,
    usage: number,
    maxPooledBytes: number,
    maxBuffer: number = device.limits.maxStorageBufferBindingSize,
    order: PoolOrder = "lastReleased",
  ) {
    this.#device = device;
    this.#usage = usage;
    this.#maxPooledBytes = maxPooledBytes;
    this.#maxBuffer = Math.floor(maxBuffer / 4) * 4;
    this.#order = order;
  }

  /** The largest buffer this pool makes, in bytes. */
  get maxBuffer(): number {
    return this.#maxBuffer;
  }

  /**
   * A buffer of at least `bytes` bytes, from the pool when one of its bucket is free. Only a
   * buffer that commands will write (`pending` true) may come from the pending list.
   */
  acquire(bytes: number, pending = false): GPUBuffer {
    if (bytes > this.#maxBuffer) {
      throw new RangeError(
        `webgpu: a buffer of ${bytes} bytes exceeds the device's limit of ${this.#maxBuffer} bytes per storage binding`,
      );
    }
    const size = Math.min(bucketSize(bytes), this.#maxBuffer);
    const s = this.#stats;
    s.live++;
    s.liveBytes += size;
    const pendingList = pending ? this.#pending.get(size) : undefined;
    const [list, i] = this.#pick(pendingList, this.#free.get(size));
    if (list !== undefined) {
      const reused = list[i];
      list[i] = list[list.length - 1];
      list.pop();
      s.hits++;
      if (list === pendingList) s.pending--;
      else s.free--;
      s.pooledBytes -= size;
      return reused;
    }
    s.misses++;
    s.created++;
    if (size >= PRESSURE_FROM) _pressure = new ArrayBuffer(size / 4);
    const buffer = this.#device.createBuffer({ size, usage: this.#usage });
    if (this.#order === "firstMade") this.#rank.set(buffer, this.#made++);
    return buffer;
  }

  // Where the buffer to hand out lies: the one released last, pending ones first; or, in
  // made-first order, the one made first of both lists.
  #pick(
    pendingList: GPUBuffer[] | undefined,
    freeList: GPUBuffer[] | undefined,
  ): [GPUBuffer[], number] | [undefined, -1] {
    if (this.#order === "lastReleased") {
      const list = pendingList?.length ? pendingList : freeList?.length ? freeList : undefined;
      return list === undefined ? [undefined, -1] : [list, list.length - 1];
    }
    let best: [GPUBuffer[], number] | [undefined, -1] = [undefined, -1];
    let bestRank = Infinity;
    for (const list of [pendingList, freeList]) {
      list?.forEach((b, i) => {
        const rank = this.#rank.get(b)!;
        if (rank < bestRank) [best, bestRank] = [[list, i], rank];
      });
    }
    return best;
  }

  /**
   * Returns a buffer; it becomes reusable after the next {@linkcode BufferPool.commit}, last in
   * its bucket's turn when the garbage collector returns it (`collected`).
   */
  release(buffer: GPUBuffer, collected = false): void {
    const s = this.#stats;
    s.live--;
    s.liveBytes -= buffer.size;
    s.pending++;
    s.pooledBytes += buffer.size;
    if (collected) {
      this.#collected.push(buffer);
      return;
    }
    let list = this.#pending.get(buffer.size);
    if (!list) this.#pending.set(buffer.size, list = []);
    list.push(buffer);
  }

  /**
   * Called after a submit: pending buffers become free for reuse, or are destroyed when the
   * pool is over its byte cap (only now: destroying a buffer that unsubmitted commands name
   * would make their submit fail).
   */
  commit(): void {
    for (const pending of this.#pending.values()) {
      for (const b of pending) this.#keep(b, (list) => list.push(b));
    }
    // Last, so that over the cap the collector's buffers are the ones destroyed.
    for (const b of this.#collected) this.#keep(b, (list) => list.unshift(b));
    this.#pending.clear();
    this.#collected.length = 0;
  }

  // A pending buffer made free (`place` puts it in its bucket), or destroyed over the cap.
  #keep(b: GPUBuffer, place: (list: GPUBuffer[]) => void): void {
    const s = this.#stats;
    s.pending--;
    if (s.pooledBytes > this.#maxPooledBytes) {
      s.pooledBytes -= b.size;
      s.destroyed++;
      b.destroy();
      return;
    }
    let list = this.#free.get(b.size);
    if (!list) this.#free.set(b.size, list = []);
    place(list);
    s.free++;
  }

  /** Destroys every pooled buffer (the live ones stay with their owners). */
  trim(): void {
    this.commit();
    for (const list of this.#free.values()) {
      for (const b of list) {
        b.destroy();
        this.#stats.destroyed++;
      }
    }
    this.#free.clear();
    this.#stats.free = 0;
    this.#stats.pooledBytes = 0;
  }

  /** A snapshot of the counters. */
  stats(): PoolStats {
    return { ...this.#stats };
  }
}
