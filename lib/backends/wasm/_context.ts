/**
 * The wasm runtime: one shared `WebAssembly.Memory` with an {@linkcode Allocator}, the
 * generated kernel module instantiated on the calling thread and on a pool of worker threads,
 * and the synchronous matmul entry points built on them.
 *
 * Threads: big products are cut into chunks that the caller and the workers take from an
 * atomic counter (see `_threads.ts`); small ones (fewer than `parallelThreshold`
 * multiply-adds) run on the calling thread so per-op overhead stays in microseconds. Workers are
 * web `Worker`s built in memory (see `_worker.ts`), so they need no permission. They start
 * lazily on the first big product and join when ready; until then the caller computes alone,
 * so nothing ever waits for a worker to start. A worker idle for `idleMillis` ends its thread
 * (a web `Worker` cannot be unref'd, so this is what lets a program exit once its work is
 * done) and is started again by the next big product.
 *
 * @example
 * ```ts
 * import { WasmContext } from "./_context.ts";
 * const ctx = new WasmContext({ threads: 1 });
 * const [a, b, c] = [ctx.heap.alloc(16), ctx.heap.alloc(16), ctx.heap.alloc(16)];
 * ctx.heap.f32().set([1, 2, 3, 4], a / 4); // A = [[1, 2], [3, 4]]
 * ctx.heap.f32().set([1, 0, 0, 1], b / 4); // B = I
 * ctx.gemm({ a, b, c, m: 2, n: 2, k: 2 });
 * console.log(ctx.heap.f32().slice(c / 4, c / 4 + 4)); // Float32Array [1, 2, 3, 4]
 * ```
 *
 * @module
 */

import { Allocator } from "./_allocator.ts";
import {
  buildMatmulModule,
  defaultMatmulConfig,
  type MatmulConfig,
  matmulWorkBytes,
  relaxedSimdSupported,
} from "./_matmul.ts";
import {
  ARG,
  controlBytes,
  CTRL,
  type GemmFn,
  JOB,
  LAYOUT,
  MAP,
  MAP_MAX_ARGS,
  type MapFn,
  REGISTRY_BYTES,
  REGISTRY_CAPACITY,
  threadRoutines,
} from "./_threads.ts";
import { startWorker } from "./_worker.ts";
import { buildElementwiseModule } from "./_elementwise_module.ts";
import { buildReduceModule } from "./_reduce_module.ts";

// The map table holds these modules' exports in this order (matmul's last, instantiated once
// for `gemm` and the packing routines alike).
const KERNEL_MODULES = ["elementwise", "reduce", "matmul"] as const;

// The calling thread runs the same chunk routines as the workers.
const routines = threadRoutines(LAYOUT);
const { chunkCount, drainChunks, mapTable, runChunk, runMapChunk, spinWhileEqual } = routines;

/** A kernel module that every thread of a {@linkcode WasmContext} instantiates. */
export type KernelModule = typeof KERNEL_MODULES[number];

/** How {@linkcode WasmContext.map} cuts a kernel's work into chunks. */
export interface MapSplit {
  /** Units of work (vectors, rows). */
  units: number;
  /** Per argument, how much it advances per unit (bytes for pointers, 0 for the rest). */
  steps: readonly number[];
  /** The argument that holds the amount of work. */
  countAt: number;
  /** That amount per unit (16 bytes per vector, 1 per row). */
  scale: number;
}

/** Options of a {@linkcode WasmContext}. */
export interface WasmContextOptions {
  /** Threads including the caller (default `navigator.hardwareConcurrency`); 1 = no workers. */
  threads?: number;
  /** Initial memory size in 64 KiB pages (default 256 = 16 MiB). */
  initialPages?: number;
  /** Maximum memory size in pages (default 65536 = 4 GiB, the wasm32 limit). */
  maximumPages?: number;
  /** Force the relaxed-SIMD (true) or plain SIMD (false) kernel; default: detected. */
  relaxed?: boolean;
  /**
   * Products with fewer multiply-adds (m·n·k·batch) stay on the caller (default 2²⁰: on the
   * 2-core machines here 64³ = 2¹⁸ ran no faster on two threads than on one, 128³ did).
   */
  parallelThreshold?: number;
  /**
   * How long an idle worker spins for the next job before sleeping, in microseconds (default
   * 500). Spinning burns a core briefly but saves the wake-up of a sleeping thread.
   */
  spinMicros?: number;
  /**
   * How long a worker waits for a job before its thread ends, in milliseconds (default 200).
   * The next big product starts it again; meanwhile the program can exit.
   */
  idleMillis?: number;
  /** Overrides of the kernel's tile and block sizes. */
  matmul?: Partial<MatmulConfig>;
}

/**
 * A batched, strided float32 gemm over buffers in the context's memory: for each batch `i`,
 * `C_i[m,n] (+)= A_i[m,k] · B_i[k,n]`. Offsets are in bytes; strides in elements.
 */
export interface GemmArgs {
  /** Byte offset of A. */
  a: number;
  /** Byte offset of B. */
  b: number;
  /** Byte offset of C. */
  c: number;
  /** Rows of A and C. */
  m: number;
  /** Columns of B and C. */
  n: number;
  /** Columns of A, rows of B. */
  k: number;
  /** Element stride between rows of A (default k). Aᵀ stored as [k,m]: `rsa: 1, csa: m`. */
  rsa?: number;
  /** Element stride between columns of A (default 1). */
  csa?: number;
  /** Element stride between rows of B (default n). Bᵀ stored as [n,k]: `rsb: 1, csb: k`. */
  rsb?: number;
  /** Element stride between columns of B (default 1). */
  csb?: number;
  /** Element stride between rows of C (default n); C's columns are contiguous. */
  ldc?: number;
  /** Number of products (default 1). */
  batch?: number;
  /** Element stride between batches of A (default m·k; 0 broadcasts one A). */
  strideA?: number;
  /** Element stride between batches of B (default k·n; 0 broadcasts one B). */
  strideB?: number;
  /** Element stride between batches of C (default m·n). */
  strideC?: number;
  /** Add into C instead of overwriting it. */
  accumulate?: boolean;
}

// A pool owns its control block: after `close()` a worker that is still shutting down may
// touch the old block, so a new pool never reuses it (a few hundred bytes per pool are left
// allocated). Slot `i` keeps its scratch block for the pool's life; its worker is replaced
// when the one before retired.
interface Pool {
  ctrl: Int32Array;
  slots: { worker: Worker | undefined; work: number }[];
}

function checkCount(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) {
    throw new RangeError(`gemm: ${name} must be a count, got ${v}`);
  }
}

// Checks that an operand of `r`×`c` elements (strides `rs`, `cs`) in `batch` copies `sb` apart
// lies inside the memory. Plain arguments, no arrays: this runs on every product.
function checkSpan(
  name: string,
  offset: number,
  batch: number,
  sb: number,
  r: number,
  rs: number,
  c: number,
  cs: number,
  bytes: number,
): void {
  checkStride(name, sb);
  checkStride(name, rs);
  checkStride(name, cs);
  const last = (batch - 1) * sb + Math.max(0, r - 1) * rs + Math.max(0, c - 1) * cs;
  const end = offset + 4 * (last + 1);
  if (!Number.isInteger(offset) || offset < 0 || offset % 4 !== 0 || end > bytes) {
    throw new RangeError(
      `gemm: ${name} [${batch}×${r}×${c}] at byte ${offset} does not fit in the memory (${bytes} bytes)`,
    );
  }
}

function checkStride(name: string, stride: number): void {
  if (!Number.isInteger(stride) || stride < 0) {
    throw new RangeError(`gemm: ${name} has a bad stride ${stride}`);
  }
}

/**
 * Memory, allocator, compiled kernels and worker pool of the wasm backend.
 *
 * @example
 * ```ts
 * import { WasmContext } from "./_context.ts";
 * const ctx = new WasmContext({ threads: 2 });
 * const n = 256;
 * const [a, b, c] = [0, 1, 2].map(() => ctx.heap.alloc(4 * n * n));
 * ctx.heap.f32().fill(1, a / 4, a / 4 + n * n);
 * ctx.heap.f32().fill(2, b / 4, b / 4 + n * n);
 * ctx.gemm({ a, b, c, m: n, n, k: n }); // big enough to start the worker pool
 * console.log(ctx.heap.f32()[c / 4]); // 512
 * ctx.close();
 * ```
 */
export class WasmContext {
  /** The shared linear memory every thread computes in. */
  readonly memory: WebAssembly.Memory;
  /** Allocator of operand buffers in {@linkcode WasmContext.memory}. */
  readonly heap: Allocator;
  /** The kernel configuration this context was generated with. */
  readonly config: MatmulConfig;
  /** The compiled kernel module (shared with the workers). */
  readonly module: WebAssembly.Module;
  /** Threads including the caller. */
  readonly threads: number;
  /** Multiply-add count below which products stay on the calling thread. */
  readonly parallelThreshold: number;
  /** How long an idle worker spins for the next job before it sleeps (microseconds). */
  readonly spinMicros: number;
  /** How long an idle worker sleeps before its thread ends (milliseconds). */
  readonly idleMillis: number;
  /** The kernel modules besides matmul (elementwise, reduce), instantiated on every thread. */
  readonly mapModules: readonly WebAssembly.Module[];
  readonly #gemm: GemmFn;
  // The calling thread's packing routines (for the last, partial panel of a shared operand).
  readonly #pack: { a: MapFn; b: MapFn };
  readonly #maps: { fns: MapFn[]; index: Map<string, number> };
  readonly #work: number;
  // Byte offset of the registry of kernels made at run time (see `REGISTRY_CAPACITY`).
  readonly #registry: number;
  #pool: Pool | undefined;
  #threadsUsed = 0;

  /** Creates the memory, compiles the kernels for this engine and reserves the control block. */
  constructor(options: WasmContextOptions = {}) {
    const maximum = options.maximumPages ?? 65536;
    this.threads = Math.max(1, Math.floor(options.threads ?? navigator.hardwareConcurrency ?? 1));
    this.parallelThreshold = options.parallelThreshold ?? 2 ** 20;
    this.spinMicros = options.spinMicros ?? 500;
    this.idleMillis = options.idleMillis ?? 200;
    const relaxed = options.relaxed ?? relaxedSimdSupported();
    // Without a fused multiply-add the product needs a temporary register: a 4-row tile fits.
    this.config = defaultMatmulConfig({
      relaxed,
      mr: relaxed ? 6 : 4,
      maxPages: maximum,
      ...options.matmul,
    });
    this.memory = new WebAssembly.Memory({
      initial: Math.min(options.initialPages ?? 256, maximum),
      maximum,
      shared: true,
    });
    this.module = new WebAssembly.Module(buildMatmulModule(this.config));
    const imports = { env: { memory: this.memory, log: Math.log } };
    const matmul = new WebAssembly.Instance(this.module, imports);
    this.#gemm = matmul.exports.gemm as GemmFn;
    this.#pack = { a: matmul.exports.pack_a as MapFn, b: matmul.exports.pack_b as MapFn };
    this.mapModules = [
      new WebAssembly.Module(buildElementwiseModule(maximum)),
      new WebAssembly.Module(buildReduceModule(maximum)),
    ];
    this.#maps = mapTable([
      ...this.mapModules.map((m) => new WebAssembly.Instance(m, imports)),
      matmul,
    ]);
    this.heap = new Allocator(this.memory);
    this.#work = this.heap.alloc(matmulWorkBytes(this.config));
    this.#registry = this.heap.alloc(REGISTRY_BYTES);
    this.heap.u8().fill(0, this.#registry, this.#registry + REGISTRY_BYTES);
  }

  /**
   * Compiles a kernel module made at run time (a fused chain), whose one export takes i32
   * arguments. Returns the calling thread's function and, while the registry has room, its
   * index for {@linkcode WasmContext.mapAt}: the workers load the module themselves the first
   * time a job names it. The module's bytes stay in the memory for the context's life.
   */
  registerKernel(bytes: Uint8Array<ArrayBuffer>): { run: MapFn; index: number | null } {
    const imports = { env: { memory: this.memory, log: Math.log } };
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports);
    const exported = Object.values(instance.exports).filter((v) => typeof v === "function");
    if (exported.length !== 1) throw new Error("registerKernel: a module must export one function");
    const run = exported[0] as MapFn;
    const registry = new Int32Array(this.memory.buffer, this.#registry, 1 + 2 * REGISTRY_CAPACITY);
    const count = registry[0];
    if (count >= REGISTRY_CAPACITY) return { run, index: null };
    const at = this.heap.alloc(bytes.length);
    this.heap.u8().set(bytes, at);
    registry[1 + 2 * count] = at;
    registry[2 + 2 * count] = bytes.length;
    Atomics.store(registry, 0, count + 1);
    this.#maps.fns.push(run);
    return { run, index: this.#maps.fns.length - 1 };
  }

  /**
   * The calling thread's functions of a kernel module (`elementwise`, `reduce` or `matmul`), by
   * export name; workers hold their own instances of the same modules.
   */
  kernels(module: KernelModule): Record<string, MapFn> {
    const m = KERNEL_MODULES.indexOf(module);
    const fns: Record<string, MapFn> = {};
    for (const [key, i] of this.#maps.index) {
      const [owner, name] = key.split(".");
      if (Number(owner) === m) fns[name] = this.#maps.fns[i];
    }
    return fns;
  }

  /**
   * Runs kernel `name` of `module` over `units` units of work, cut into chunks that the calling
   * thread and the workers share (all on the calling thread while no worker is ready). Each
   * chunk calls the kernel with `args`, every one advanced by `steps[i]` per unit before the
   * chunk, and `args[countAt]` set to the chunk's units × `scale`. Synchronous.
   */
  map(module: KernelModule, name: string, args: readonly number[], split: MapSplit): void {
    const fn = this.#maps.index.get(`${KERNEL_MODULES.indexOf(module)}.${name}`);
    if (fn === undefined) throw new Error(`map: no kernel "${name}" in the ${module} module`);
    this.mapAt(fn, args, split);
  }

  /**
   * {@linkcode WasmContext.map} of a kernel by its index: one that
   * {@linkcode WasmContext.registerKernel} gave.
   */
  mapAt(fn: number, args: readonly number[], split: MapSplit): void {
    if (args.length > MAP_MAX_ARGS || split.steps.length !== args.length) {
      throw new RangeError(`map: ${args.length} arguments with ${split.steps.length} steps`);
    }
    if (this.threads > 1) this.#staffPool();
    const workers = Math.min(this.readyWorkers, this.threads - 1);
    const chunks = Math.min(split.units, 2 * (workers + 1));
    if (workers === 0 || chunks < 2) {
      const all = [...args];
      all[split.countAt] = split.units * split.scale;
      this.#maps.fns[fn](...all);
      this.#threadsUsed = 1;
      return;
    }
    const at = CTRL.ARGS, ctrl = this.#pool!.ctrl;
    ctrl[at + ARG.KIND] = JOB.MAP;
    ctrl[at + MAP.FN] = fn;
    ctrl[at + MAP.UNITS] = split.units;
    ctrl[at + MAP.CHUNK] = Math.ceil(split.units / chunks);
    ctrl[at + MAP.COUNT_AT] = split.countAt;
    ctrl[at + MAP.SCALE] = split.scale;
    ctrl[at + MAP.NARGS] = args.length;
    args.forEach((v, i) => {
      ctrl[at + MAP.VALUES + i] = v;
      ctrl[at + MAP.STEPS + i] = split.steps[i];
    });
    this.#threadsUsed = this.#run(chunkCount(ctrl));
  }

  /** Worker threads that are running and serving jobs now. */
  get readyWorkers(): number {
    return this.#pool ? Atomics.load(this.#pool.ctrl, CTRL.READY) : 0;
  }

  /**
   * Threads, the caller included, that ran a part of the latest product or map job: 1 when it
   * ran on the calling thread alone, 0 before the first one.
   */
  get threadsUsed(): number {
    return this.#threadsUsed;
  }

  /**
   * Runs a batched gemm on buffers in {@linkcode WasmContext.memory} (see {@linkcode GemmArgs});
   * synchronous: C is complete when it returns.
   */
  gemm(args: GemmArgs): void {
    const { m, n, k, batch = 1 } = args;
    checkCount("m", m);
    checkCount("n", n);
    checkCount("k", k);
    checkCount("batch", batch);
    const acc = args.accumulate ? 1 : 0;
    const rsa = args.rsa ?? k, csa = args.csa ?? 1, rsb = args.rsb ?? n, csb = args.csb ?? 1;
    const ldc = args.ldc ?? n;
    const sba = args.strideA ?? m * k, sbb = args.strideB ?? k * n, sbc = args.strideC ?? m * n;
    if (m === 0 || n === 0 || batch === 0) return;
    // Fail here, naming the operand, rather than with a trap inside the kernel. (C must not
    // overlap A or B; that is the caller's contract and is not checked.)
    const bytes = this.memory.buffer.byteLength;
    checkSpan("A", args.a, batch, sba, m, rsa, k, csa, bytes);
    checkSpan("B", args.b, batch, sbb, k, rsb, n, csb, bytes);
    checkSpan("C", args.c, batch, sbc, m, ldc, n, 1, bytes);
    if (k === 0) {
      if (acc) return;
      const f32 = this.heap.f32();
      for (let bi = 0; bi < batch; bi++) {
        for (let i = 0; i < m; i++) {
          const row = (args.c >>> 2) + bi * sbc + i * ldc;
          f32.fill(0, row, row + n);
        }
      }
      return;
    }
    const parallel = this.threads > 1 && m * n * k * batch >= this.parallelThreshold;
    if (parallel) this.#staffPool();
    const workers = parallel ? Math.min(this.readyWorkers, this.threads - 1) : 0;
    if (workers === 0) {
      this.#threadsUsed = 1;
      for (let bi = 0; bi < batch; bi++) {
        const { a, b, c } = args;
        const g = this.#gemm;
        g(
          a + 4 * bi * sba,
          rsa,
          csa,
          b + 4 * bi * sbb,
          rsb,
          csb,
          c + 4 * bi * sbc,
          ldc,
          m,
          n,
          k,
          acc,
          this.#work,
          0,
        );
      }
      return;
    }
    // Chunk grid: the longer output side is cut in whole register tiles, into chunks that
    // share out evenly, several per thread so that a late worker costs little.
    const { mr, nr } = this.config;
    let gridM = 1, gridN = 1, chunkM = m, chunkN = n;
    if (batch < 3 * (workers + 1)) {
      const tilesM = Math.ceil(m / mr), tilesN = Math.ceil(n / nr);
      const threads = Math.ceil((workers + 1) / batch);
      if (tilesM >= tilesN) {
        chunkM = evenChunk(tilesM, threads) * mr;
        gridM = Math.ceil(m / chunkM);
      } else {
        chunkN = evenChunk(tilesN, threads) * nr;
        gridN = Math.ceil(n / chunkN);
      }
    }
    // Chunks side by side along n all read the whole of A, chunks along m the whole of B:
    // packed once here, by all threads, rather than by every chunk (for a [128, 1024]·[1024,
    // 256] product cut in six, repacking A took as long as the arithmetic).
    const shared = batch === 1 ? (gridN > 1 ? 1 : gridM > 1 ? 2 : 0) : 0;
    const packed = shared === 1
      ? this.#packA(args.a, rsa, csa, m, k)
      : shared === 2
      ? this.#packB(args.b, rsb, csb, k, n)
      : 0;
    try {
      const args32 = this.#pool!.ctrl.subarray(CTRL.ARGS);
      args32[ARG.KIND] = JOB.GEMM;
      // A packed operand's chunks start k floats per row (column) apart.
      [args32[ARG.A], args32[ARG.RSA]] = shared === 1 ? [packed, k] : [args.a, rsa];
      [args32[ARG.B], args32[ARG.CSB]] = shared === 2 ? [packed, k] : [args.b, csb];
      args32[ARG.PACKED] = shared;
      args32[ARG.CSA] = csa;
      args32[ARG.SBA] = sba;
      args32[ARG.RSB] = rsb;
      args32[ARG.SBB] = sbb;
      args32[ARG.C] = args.c;
      args32[ARG.LDC] = ldc;
      args32[ARG.SBC] = sbc;
      args32[ARG.M] = m;
      args32[ARG.N] = n;
      args32[ARG.K] = k;
      args32[ARG.ACC] = acc;
      args32[ARG.BATCH] = batch;
      args32[ARG.GRID_M] = gridM;
      args32[ARG.GRID_N] = gridN;
      args32[ARG.CHUNK_M] = chunkM;
      args32[ARG.CHUNK_N] = chunkN;
      this.#threadsUsed = this.#run(batch * gridM * gridN);
    } finally {
      if (shared !== 0) this.heap.free(packed);
    }
  }

  // All of A (m×k, strided) packed into MR-row panels of depth k, by the threads together;
  // returns the block (the caller frees it).
  #packA(a: number, rsa: number, csa: number, m: number, k: number): number {
    const { mr } = this.config;
    const dst = this.heap.alloc(4 * Math.ceil(m / mr) * mr * k);
    const full = Math.floor(m / mr);
    this.map("matmul", "pack_a", [a, rsa, csa, 0, k, dst], {
      units: full,
      steps: [4 * mr * rsa, 0, 0, 0, 0, 4 * mr * k],
      countAt: 3,
      scale: mr,
    });
    if (full * mr < m) {
      this.#pack.a(a + 4 * full * mr * rsa, rsa, csa, m - full * mr, k, dst + 4 * full * mr * k);
    }
    return dst;
  }

  // All of B (k×n, strided) packed into NR-column panels of depth k, like `#packA`.
  #packB(b: number, rsb: number, csb: number, k: number, n: number): number {
    const { nr } = this.config;
    const dst = this.heap.alloc(4 * Math.ceil(n / nr) * nr * k);
    const full = Math.floor(n / nr);
    this.map("matmul", "pack_b", [b, rsb, csb, k, 0, dst], {
      units: full,
      steps: [4 * nr * csb, 0, 0, 0, 0, 4 * nr * k],
      countAt: 4,
      scale: nr,
    });
    if (full * nr < n) {
      this.#pack.b(b + 4 * full * nr * csb, rsb, csb, k, n - full * nr, dst + 4 * full * nr * k);
    }
    return dst;
  }

  // Publishes the job whose arguments are written, works on it, waits for the stragglers and
  // closes it; returns how many threads ran a chunk. Arguments are plain stores: the seq-cst
  // store of GEN below publishes them.
  #run(total: number): number {
    const ctrl = this.#pool!.ctrl;
    Atomics.store(ctrl, CTRL.NEXT, 0);
    Atomics.store(ctrl, CTRL.DONE, 0);
    Atomics.store(ctrl, CTRL.ERROR, 0);
    Atomics.store(ctrl, CTRL.WORKED, 0);
    const gen = (Atomics.load(ctrl, CTRL.GEN) + 1) | 0 || 1; // 0 means "closed" in OPEN
    Atomics.store(ctrl, CTRL.OPEN, gen);
    Atomics.store(ctrl, CTRL.GEN, gen);
    Atomics.notify(ctrl, CTRL.GEN);
    const map = ctrl[CTRL.ARGS + ARG.KIND] === JOB.MAP;
    const run = map
      ? (q: number) => runMapChunk(ctrl, this.#maps.fns, q)
      : (q: number) => runChunk(ctrl, this.#gemm, this.#work, q);
    const { taken, error } = total > 0 ? drainChunks(ctrl, run, total) : NOTHING;
    // The caller has nothing else to do: spin on the last chunks, sleep only if they are slow.
    for (let d; (d = Atomics.load(ctrl, CTRL.DONE)) < total;) {
      if (!spinWhileEqual(ctrl, CTRL.DONE, d, 2000)) Atomics.wait(ctrl, CTRL.DONE, d, 5);
    }
    Atomics.store(ctrl, CTRL.OPEN, 0);
    for (let a; (a = Atomics.load(ctrl, CTRL.ACTIVE)) > 0;) Atomics.wait(ctrl, CTRL.ACTIVE, a, 5);
    if (error !== undefined) throw error;
    if (Atomics.load(ctrl, CTRL.ERROR)) {
      throw new Error("wasm: a worker's chunk failed (see stderr)");
    }
    return (taken > 0 ? 1 : 0) + Atomics.load(ctrl, CTRL.WORKED);
  }

  // Creates the pool on first use, then fills every slot whose worker retired (or never
  // started). A new worker joins the jobs published once it is ready.
  #staffPool(): void {
    let pool = this.#pool;
    if (pool === undefined) {
      const bytes = controlBytes(this.threads - 1);
      const ctrlPtr = this.heap.alloc(bytes);
      this.heap.u8().fill(0, ctrlPtr, ctrlPtr + bytes);
      const ctrl = new Int32Array(this.memory.buffer, ctrlPtr, bytes / 4);
      Atomics.store(ctrl, CTRL.SPIN_US, this.spinMicros);
      Atomics.store(ctrl, CTRL.IDLE_MS, this.idleMillis);
      const slots = Array.from({ length: this.threads - 1 }, () => ({
        worker: undefined,
        work: this.heap.alloc(matmulWorkBytes(this.config)),
      }));
      pool = this.#pool = { ctrl, slots };
    }
    const { ctrl, slots } = pool;
    for (let slot = 0; slot < slots.length; slot++) {
      if (Atomics.load(ctrl, CTRL.SLOTS + slot) !== 0) continue;
      // Occupied from now on, even if no worker can start: it is not tried again.
      Atomics.store(ctrl, CTRL.SLOTS + slot, 1);
      slots[slot].worker = startWorker({
        module: this.module,
        mapModules: this.mapModules,
        memory: this.memory,
        ctrl: ctrl.byteOffset,
        ctrlWords: ctrl.length,
        slot,
        work: slots[slot].work,
        registry: this.#registry,
      });
    }
  }

  /**
   * Stops the worker threads (the memory and allocator stay usable; later products run on the
   * calling thread until a big one starts a new pool).
   */
  close(): void {
    const pool = this.#pool;
    if (pool === undefined) return;
    pool.ctrl[CTRL.ARGS + ARG.KIND] = JOB.EXIT;
    this.#run(0);
    this.#pool = undefined;
    // Safe to free the scratch blocks: no chunk is in flight once the exit job has drained,
    // and a worker still starting up only ever touches the (kept) control block.
    for (const { worker, work } of pool.slots) {
      worker?.terminate();
      this.heap.free(work);
    }
  }
}

// What a thread that took no chunk drained.
// The tiles per chunk that let `threads` threads finish `tiles` tiles soonest, taking chunks
// in turn (the most chunks, up to four per thread, among the equally good): 32 tiles on two
// threads go in eight chunks of 4, not six of 6 (the last of 2), which left one thread 18
// tiles to the other's 14.
function evenChunk(tiles: number, threads: number): number {
  let best = tiles, finish = Infinity;
  for (let chunks = threads; chunks <= 4 * threads; chunks++) {
    const size = Math.ceil(tiles / chunks);
    const rounds = Math.ceil(Math.ceil(tiles / size) / threads);
    if (rounds * size <= finish) [best, finish] = [size, rounds * size];
  }
  return best;
}

const NOTHING = { taken: 0, error: undefined };

let defaultContext: WasmContext | undefined;

/**
 * The process-wide context used by {@linkcode matmulF32} (created on first use).
 *
 * @example
 * ```ts
 * import { defaultWasmContext } from "./_context.ts";
 * console.log(defaultWasmContext().threads >= 1); // true
 * ```
 */
export function defaultWasmContext(): WasmContext {
  return defaultContext ??= new WasmContext();
}
