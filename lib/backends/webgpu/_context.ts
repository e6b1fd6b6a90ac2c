/**
 * The GPU context: one device, its buffer pool, the pipeline cache, and the command batching
 * that keeps enqueueing synchronous. Kernels record dispatches into one open compute pass;
 * the batch is submitted when values are read, when it is full, or at the end of the current
 * JavaScript task (a microtask), so a training step becomes a handful of submits.
 *
 * Every dispatch binds, at binding 0, a window of a per-batch parameter arena (`P`: a u32
 * array holding shapes, strides, offsets and constants), then its inputs read-only and its
 * outputs read-write. The arena is written once per batch just before the submit. The window
 * is placed by a dynamic offset, so a bind group depends only on the buffers it names: groups
 * are cached by buffers, and a loop that reuses its buffers from the pool (a jitted step does,
 * call after call) creates none after its first iterations.
 *
 * @module
 */

import type { DType, TypedArray } from "../../core/dtype.ts";
import { type Shape, sizeOf, stridesOf } from "../../core/shape.ts";
import { GpuArray, GpuStorage } from "./_array.ts";
import { BindGroupCache } from "./_bind_groups.ts";
import { BufferPool, type PoolStats } from "./_pool.ts";

/** A kernel variant: its cache key and the WGSL it compiles from (built only on a miss). */
export interface KernelSpec {
  /** Unique per generated code. */
  readonly key: string;
  /** Generates the WGSL source; entry point `main`. */
  readonly code: () => string;
}

/** Bytes per parameter slot: the storage-buffer binding offset alignment. */
const SLOT = 256;
/** The parameter arena: 4096 slots per batch. */
const ARENA_BYTES = 1 << 20;
/** Bytes of the arena a dispatch binds at its offset (more when its parameters need it). */
const WINDOW = 1024;
/** Dispatches per batch before a submit, so the GPU starts while JavaScript keeps recording. */
const MAX_BATCH = 512;
/** The most workgroups along one dispatch dimension. */
const MAX_GROUPS = 65535;
/** Program results up to this size leave the shared pool (see `GpuContext.detach`). */
const DETACH_BYTES = 256;

/** The error every operation gives once the device is lost. */
function lostError(reason: string): Error {
  return new Error(`webgpu: the GPU device was lost (${reason}); its tensors are gone`);
}

/**
 * A WebGPU device with batching, pooling and pipeline caching.
 *
 * @example
 * ```ts
 * import { GpuContext } from "./_context.ts";
 * import assert from "node:assert/strict";
 * const adapter = await navigator.gpu?.requestAdapter();
 * if (adapter) {
 *   const ctx = new GpuContext(await adapter.requestDevice());
 *   const x = ctx.upload(new Float32Array([1, 2, 3]), [3]);
 *   assert.deepEqual([...await ctx.read(x)], [1, 2, 3]);
 *   ctx.device.destroy();
 * }
 * ```
 */
export class GpuContext {
  /** The device. */
  readonly device: GPUDevice;
  /** Storage buffers of tensors. */
  readonly pool: BufferPool;
  // The small outputs of compiled programs (see `detach`), and the buffers it made.
  readonly #outputs: BufferPool;
  readonly #detached = new WeakSet<GPUBuffer>();
  readonly #staging: BufferPool;
  readonly #pipelines = new Map<string, GPUComputePipeline>();
  readonly #layouts = new Map<string, [GPUBindGroupLayout, GPUPipelineLayout]>();
  // Variant: the parameter window's bytes times 64, plus the number of inputs.
  readonly #groups = new BindGroupCache((variant, inputs, outputs) => {
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: this.#arena, offset: 0, size: Math.floor(variant / 64) } },
    ];
    let b = 1;
    for (const buffer of inputs) entries.push({ binding: b++, resource: { buffer } });
    for (const buffer of outputs) entries.push({ binding: b++, resource: { buffer } });
    const layout = this.#layout(inputs.length, outputs.length)[0];
    return this.device.createBindGroup({ layout, entries });
  });
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #dispatches = 0;
  #dispatched = 0;
  readonly #arena: GPUBuffer;
  readonly #arenaData = new Uint32Array(ARENA_BYTES / 4);
  #arenaUsed = 0;
  #flushScheduled = false;
  #lost: string | null = null;
  #error: string | null = null;
  readonly #pendingReads = new Set<(e: Error) => void>();
  readonly #scalars = new Map<string, GpuStorage>();
  /**
   * Whether kernels cooperate through workgroup memory (matmul tiles, softmax rows, long
   * reductions). True on hardware. False on software adapters (llvmpipe, SwiftShader), where
   * workgroup memory is ordinary CPU memory, each barrier switches coroutines, and kernels
   * using them take seconds to compile: there one thread per output is faster. Tests flip it
   * to cover both families.
   */
  useWorkgroupMemory: boolean;
  /**
   * Whether a small jitted program runs as one dispatch of one workgroup (see `_program.ts`).
   * True on software adapters, where a dispatch's fixed cost outweighs a small program's
   * work; false on hardware, where one workgroup would leave the GPU idle. Tests flip it to
   * cover both.
   */
  oneDispatchPrograms: boolean;
  /** How many reads went back to the CPU (tests check that training steps make none). */
  reads = 0;

  /** Wraps a device; listens for its loss and for validation errors. */
  constructor(device: GPUDevice) {
    this.device = device;
    this.useWorkgroupMemory = !device.adapterInfo?.isFallbackAdapter;
    this.oneDispatchPrograms = !this.useWorkgroupMemory;
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    // Keep up to a quarter of the largest buffer size of released memory, within 256 MiB to
    // 4 GiB: beyond the cap, released buffers are destroyed rather than kept.
    const cap = Math.max(2 ** 28, Math.min(2 ** 32, device.limits.maxBufferSize / 4));
    this.pool = new BufferPool(device, usage, cap);
    // Made-first order: see `detach`.
    this.#outputs = new BufferPool(device, usage, 16 << 20, undefined, "firstMade");
    this.#staging = new BufferPool(
      device,
      GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      64 << 20,
      device.limits.maxBufferSize,
    );
    this.#arena = device.createBuffer({
      size: ARENA_BYTES,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    device.lost.then((info) => {
      this.#lost = info.message || info.reason || "unknown reason";
      const err = lostError(this.#lost);
      for (const reject of this.#pendingReads) reject(err);
      this.#pendingReads.clear();
    });
    device.addEventListener("uncapturederror", (e) => {
      // A validation error means a kernel bug; the next read reports it rather than
      // returning garbage.
      this.#error ??= (e as GPUUncapturedErrorEvent).error.message;
    });
  }

  /** Throws when the device can no longer run work. */
  checkAlive(): void {
    if (this.#lost !== null) throw lostError(this.#lost);
  }

  /** The counters of the tensors' buffers: the pool's and the small outputs' together. */
  stats(): PoolStats {
    const [a, b] = [this.pool.stats(), this.#outputs.stats()];
    for (const key of Object.keys(a) as (keyof PoolStats)[]) a[key] += b[key];
    return a;
  }

  /** Kernels dispatched since the context was made (benchmarks count them per step). */
  get dispatched(): number {
    return this.#dispatched;
  }

  /**
   * A fresh row-major array of `dtype`, for a kernel to write (`upload` false) or for
   * `writeBuffer` (`upload` true, which must not reuse a buffer of the unsubmitted batch).
   */
  alloc(shape: Shape, dtype: DType, upload = false): GpuArray {
    this.checkAlive();
    const bytes = Math.max(4, sizeOf(shape) * 4);
    const buffer = this.pool.acquire(bytes, !upload);
    const storage = new GpuStorage(buffer, (b, collected) => this.pool.release(b, collected));
    return new GpuArray(storage, shape, stridesOf(shape), 0, dtype);
  }

  /**
   * A small result of a compiled program, moved to a buffer of its own pool (a copy command in
   * the batch; the shared pool's buffer goes back at once). Anything else (larger, a view,
   * shared, or moved already) is returned as it is.
   *
   * A training loop that never awaits drops its loss every step, and a dropped tensor keeps
   * its buffer until the event loop turns. Were that buffer the shared pool's, its absence
   * would shift which buffers the program's next call draws, so that every call would name
   * new buffers and make new bind groups. Kept apart, the program's buffers repeat call after
   * call, and each dropped value costs one small buffer. The small results' pool hands out the
   * buffer it made first, so that those a loop passes back (a bias, an optimizer's step count)
   * keep their buffers even while a dropped one is missing.
   */
  detach(a: GpuArray): GpuArray {
    const { storage } = a;
    const bytes = a.size * 4;
    if (
      bytes > DETACH_BYTES || !a.contiguous || storage.refs !== 1 || storage.bits !== null ||
      this.#detached.has(storage.buffer)
    ) {
      return a;
    }
    const buffer = this.#outputs.acquire(Math.max(4, bytes), true);
    this.#detached.add(buffer);
    if (bytes > 0) {
      this.#endPass();
      this.#encoder ??= this.device.createCommandEncoder();
      this.#encoder.copyBufferToBuffer(storage.buffer, a.offset * 4, buffer, 0, bytes);
      this.#scheduleFlush();
    }
    a.release();
    const copy = new GpuStorage(buffer, (b, collected) => this.#outputs.release(b, collected));
    return new GpuArray(copy, a.shape, a.strides, 0, a.dtype);
  }

  /**
   * Contiguous arrays copied side by side into one new buffer (copy commands in the batch), as
   * views of it: a kernel then binds them all with one binding.
   */
  gather(arrays: readonly GpuArray[]): GpuArray[] {
    const words = arrays.reduce((n, a) => n + a.size, 0);
    const whole = this.alloc([Math.max(1, words)], "int32");
    this.#endPass();
    const encoder = this.#encoder ??= this.device.createCommandEncoder();
    let at = 0;
    const views = arrays.map((a) => {
      if (a.size > 0) {
        encoder.copyBufferToBuffer(a.buffer, a.offset * 4, whole.buffer, at * 4, a.size * 4);
      }
      const view = whole.view(a.shape, stridesOf(a.shape), at, a.dtype);
      at += a.size;
      return view;
    });
    whole.release();
    this.#scheduleFlush();
    return views;
  }

  /** A fresh row-major array of zeros: a clear command in the batch, cheaper than a kernel. */
  zeros(shape: Shape, dtype: DType): GpuArray {
    const a = this.alloc(shape, dtype);
    this.#endPass();
    this.#encoder ??= this.device.createCommandEncoder();
    this.#encoder.clearBuffer(a.buffer, 0, Math.max(4, a.size * 4));
    this.#scheduleFlush();
    return a;
  }

  /**
   * Uploads row-major 4-byte values. Scalars are cached by value: storage is immutable, so
   * every `x.mul(2)` can share one buffer holding 2 instead of writing a new one.
   */
  upload(data: Float32Array | Int32Array | Uint32Array, shape: Shape, dtype?: DType): GpuArray {
    const dt: DType = dtype ??
      (data instanceof Float32Array ? "float32" : data instanceof Int32Array ? "int32" : "bool");
    if (data.length === 1 && shape.length === 0) {
      const key = `${dt}:${new Uint32Array(data.buffer, data.byteOffset, 1)[0]}`;
      const cached = this.#scalars.get(key);
      if (cached && cached.refs > 0) {
        cached.refs++;
        return new GpuArray(cached, shape, [], 0, dt);
      }
      const a = this.#write(data, shape, dt);
      if (this.#scalars.size >= 1024) {
        // Keep the cache small: drop every entry (each keeps one reference on its storage).
        for (const s of this.#scalars.values()) s.unref();
        this.#scalars.clear();
      }
      a.storage.refs++;
      this.#scalars.set(key, a.storage);
      return a;
    }
    return this.#write(data, shape, dt);
  }

  #write(data: Float32Array | Int32Array | Uint32Array, shape: Shape, dtype: DType): GpuArray {
    const a = this.alloc(shape, dtype, true);
    if (data.length > 0) {
      this.device.queue.writeBuffer(a.buffer, 0, data as Uint32Array<ArrayBuffer>);
    }
    if (data.length === 1) a.storage.bits = new Uint32Array(data.buffer, data.byteOffset, 1)[0];
    return a;
  }

  /** The pipeline of a kernel variant, compiled on first use. */
  pipeline(spec: KernelSpec, inputs: number, outputs: number): GPUComputePipeline {
    const cached = this.#pipelines.get(spec.key);
    if (cached) return cached;
    const [, layout] = this.#layout(inputs, outputs);
    const code = spec.code();
    this.device.pushErrorScope("validation");
    const pipeline = this.device.createComputePipeline({
      label: spec.key,
      layout,
      compute: {
        module: this.device.createShaderModule({ code, label: spec.key }),
        entryPoint: "main",
      },
    });
    this.device.popErrorScope().then((err) => {
      if (err) this.#error ??= `kernel ${spec.key} failed to compile: ${err.message}\n${code}`;
    });
    this.#pipelines.set(spec.key, pipeline);
    return pipeline;
  }

  /** The number of distinct kernel variants compiled so far. */
  get pipelineCount(): number {
    return this.#pipelines.size;
  }

  /** Bind groups created so far (a cache miss each: tests check that loops stop making them). */
  get bindGroupsCreated(): number {
    return this.#groups.created;
  }

  #layout(inputs: number, outputs: number): [GPUBindGroupLayout, GPUPipelineLayout] {
    const key = `${inputs}:${outputs}`;
    const cached = this.#layouts.get(key);
    if (cached) return cached;
    const entries: GPUBindGroupLayoutEntry[] = [];
    for (let i = 0; i < 1 + inputs + outputs; i++) {
      entries.push({
        binding: i,
        visibility: GPUShaderStage.COMPUTE,
        buffer: {
          type: i <= inputs ? "read-only-storage" : "storage",
          hasDynamicOffset: i === 0,
        },
      });
    }
    const group = this.device.createBindGroupLayout({ entries });
    const made: [GPUBindGroupLayout, GPUPipelineLayout] = [
      group,
      this.device.createPipelineLayout({ bindGroupLayouts: [group] }),
    ];
    this.#layouts.set(key, made);
    return made;
  }

  /**
   * Records one dispatch of `groups` workgroups (spread over x and y when there are more than
   * a dimension holds; shaders rebuild the linear id from `num_workgroups`).
   */
  dispatch(
    spec: KernelSpec,
    inputs: readonly GPUBuffer[],
    outputs: readonly GPUBuffer[],
    params: readonly number[],
    groups: number,
  ): void {
    this.checkAlive();
    if (groups === 0) return;
    const pipeline = this.pipeline(spec, inputs.length, outputs.length);
    const bytes = Math.ceil((Math.max(1, params.length) * 4) / SLOT) * SLOT;
    const window = Math.max(WINDOW, bytes);
    if (this.#arenaUsed + window > ARENA_BYTES) this.flush();
    const at = this.#arenaUsed;
    for (let i = 0; i < params.length; i++) this.#arenaData[at / 4 + i] = params[i];
    this.#arenaUsed += bytes;
    const pass = this.#computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.#groups.get(window * 64 + inputs.length, inputs, outputs), [at]);
    const x = Math.min(groups, MAX_GROUPS);
    pass.dispatchWorkgroups(x, Math.ceil(groups / x));
    this.#dispatched++;
    if (++this.#dispatches >= MAX_BATCH) this.flush();
    else this.#scheduleFlush();
  }

  #endPass(): void {
    this.#pass?.end();
    this.#pass = null;
  }

  #computePass(): GPUComputePassEncoder {
    if (this.#pass) return this.#pass;
    this.#encoder ??= this.device.createCommandEncoder();
    this.#pass = this.#encoder.beginComputePass();
    return this.#pass;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      if (this.#lost === null) this.flush();
    });
  }

  /** Submits every recorded command; released buffers become reusable. */
  flush(): void {
    this.#endPass();
    if (this.#encoder) {
      if (this.#arenaUsed > 0) {
        this.device.queue.writeBuffer(this.#arena, 0, this.#arenaData, 0, this.#arenaUsed / 4);
      }
      this.device.queue.submit([this.#encoder.finish()]);
      this.#encoder = null;
    }
    this.#arenaUsed = 0;
    this.#dispatches = 0;
    this.pool.commit();
    this.#outputs.commit();
    this.#staging.commit();
  }

  /** Resolves when all submitted work has finished. */
  async sync(): Promise<void> {
    this.flush();
    await this.#guard(this.device.queue.onSubmittedWorkDone());
  }

  /** Races a GPU promise against device loss, so reads never hang on a dead device. */
  #guard<T>(promise: Promise<T>): Promise<T> {
    this.checkAlive();
    return new Promise<T>((resolve, reject) => {
      this.#pendingReads.add(reject);
      promise.then(
        (v) => {
          this.#pendingReads.delete(reject);
          resolve(v);
        },
        (e) => {
          this.#pendingReads.delete(reject);
          reject(this.#lost !== null ? lostError(this.#lost) : new Error(`webgpu: ${e}`));
        },
      );
    });
  }

  /**
   * Copies `count` 4-byte words from element `offset` of a buffer back to the CPU, as a
   * Uint32Array. Rejects with an Error when the device is lost or a kernel failed.
   */
  async readWords(buffer: GPUBuffer, offset: number, count: number): Promise<Uint32Array> {
    this.checkAlive();
    this.reads++;
    if (count === 0) return new Uint32Array(0);
    const bytes = count * 4;
    const staging = this.#staging.acquire(bytes);
    this.#endPass();
    this.#encoder ??= this.device.createCommandEncoder();
    this.#encoder.copyBufferToBuffer(buffer, offset * 4, staging, 0, bytes);
    this.flush();
    try {
      await this.#guard(staging.mapAsync(GPUMapMode.READ, 0, bytes));
    } catch (e) {
      throw this.#takeError() ?? e;
    }
    const out = new Uint32Array(staging.getMappedRange(0, bytes).slice(0));
    staging.unmap();
    this.#staging.release(staging);
    const err = this.#takeError();
    if (err) throw err;
    return out;
  }

  #takeError(): Error | null {
    if (this.#error === null) return null;
    const e = new Error(`webgpu: ${this.#error}`);
    this.#error = null;
    return e;
  }

  /** The values of a contiguous array, as the typed array of its dtype. */
  async read(a: GpuArray): Promise<TypedArray> {
    if (!a.contiguous) throw new Error("webgpu: read needs a contiguous array");
    const words = await this.readWords(a.buffer, a.offset, a.size);
    if (a.dtype === "float32") return new Float32Array(words.buffer);
    if (a.dtype === "int32") return new Int32Array(words.buffer);
    return Uint8Array.from(words, (w) => (w !== 0 ? 1 : 0));
  }
}
