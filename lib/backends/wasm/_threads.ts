/**
 * The hand-off protocol between the calling thread and the worker threads, shared by both
 * sides: a control block of int32 words in the shared memory, and the chunk loop every thread
 * runs. Private to the wasm backend.
 *
 * A job is a batched gemm cut into independent chunks (batch × row blocks × column blocks), or
 * a "map": one exported kernel (elementwise, softmax, or a fused chain made at run time, which
 * each worker loads from the registry the first time a job names it) run over a range of work
 * units cut into chunks of whole units.
 * The caller writes the arguments, opens the job and bumps the generation word; threads grab
 * chunks with an atomic counter until none are left, so a worker that wakes late simply takes
 * fewer chunks and the caller never waits for a thread that is not there.
 *
 * Closing protocol (why `ACTIVE` and `OPEN` exist): a worker announces itself in `ACTIVE`
 * *before* it re-reads the generation and checks that the job is still `OPEN`; the caller closes
 * the job and waits for `ACTIVE` to drain before it writes the next job's arguments. So no worker
 * ever reads half-written arguments or takes a chunk of the next job with the old ones.
 *
 * Retiring: a worker that has waited `IDLE_MS` without a job leaves (it counts itself out of
 * `READY` and frees its slot word) and its thread ends; the caller starts a new one in a free
 * slot when big work comes again. Idle workers therefore never keep a program alive for long,
 * which matters because a web `Worker` cannot be unref'd.
 *
 * The code every thread runs is made by {@linkcode threadRoutines}, a function that refers to
 * nothing outside itself, so that its source text is also the worker's whole program (see
 * `_worker.ts`).
 *
 * @module
 */

/** Word indices in the control block; each hot word has its own 64-byte line. */
export const CTRL = {
  GEN: 0,
  OPEN: 16,
  NEXT: 32,
  DONE: 48,
  ACTIVE: 64,
  ERROR: 80,
  READY: 96,
  SPIN_US: 97,
  IDLE_MS: 98,
  WORKED: 112,
  ARGS: 128,
  /** One word per worker slot: 1 while a worker lives in it. */
  SLOTS: 272,
} as const;

/** Bytes of a control block for `workers` worker slots. */
export function controlBytes(workers: number): number {
  return 4 * (CTRL.SLOTS + workers);
}

/** Job kinds, stored in `ARGS + 0`. */
export const JOB = { GEMM: 1, EXIT: 2, MAP: 3 } as const;

/**
 * Argument slots of a map job (relative to `CTRL.ARGS`): kernel `FN` of the thread's map table
 * is called once per chunk with `NARGS` arguments from `VALUES`, each advanced by its `STEPS`
 * entry per unit skipped, and the argument at `COUNT_AT` replaced by the chunk's units times
 * `SCALE`.
 */
export const MAP = {
  FN: 1,
  UNITS: 2,
  CHUNK: 3,
  COUNT_AT: 4,
  SCALE: 5,
  NARGS: 6,
  VALUES: 8,
  STEPS: 72,
} as const;

/** Most arguments a map kernel may take. */
export const MAP_MAX_ARGS = 64;

/**
 * Kernels made at run time (fused chains) that the workers can run: a block of int32 words in
 * the shared memory, the count first, then the byte offset and length of each module's bytes.
 * A worker compiles the ones it lacks when a map job names a function beyond its table.
 */
export const REGISTRY_CAPACITY = 4096;

/** Bytes of the registry block. */
export const REGISTRY_BYTES: number = 4 * (1 + 2 * REGISTRY_CAPACITY);

/** Argument slots of a gemm job (relative to `CTRL.ARGS`). Strides are in elements. */
export const ARG = {
  KIND: 0,
  A: 1,
  RSA: 2,
  CSA: 3,
  SBA: 4,
  B: 5,
  RSB: 6,
  CSB: 7,
  SBB: 8,
  C: 9,
  LDC: 10,
  SBC: 11,
  M: 12,
  N: 13,
  K: 14,
  ACC: 15,
  BATCH: 16,
  GRID_M: 17,
  GRID_N: 18,
  CHUNK_M: 19,
  CHUNK_N: 20,
  /** Which operands are packed for all of k already (the bits of the kernel's `packed`). */
  PACKED: 21,
} as const;

/** The control block's layout, as {@linkcode threadRoutines} takes it. */
export interface Layout {
  /** Word indices of the control block. */
  ctrl: typeof CTRL;
  /** Job kinds. */
  job: typeof JOB;
  /** Argument slots of a map job. */
  map: typeof MAP;
  /** Argument slots of a gemm job. */
  arg: typeof ARG;
}

/** The layout both sides use. */
export const LAYOUT: Layout = { ctrl: CTRL, job: JOB, map: MAP, arg: ARG };

/** A kernel of a map job: i32 arguments (pointers, counts), no result. */
export type MapFn = (...args: number[]) => void;

/** The generated module's `gemm` export. */
export type GemmFn = (
  a: number,
  rsa: number,
  csa: number,
  b: number,
  rsb: number,
  csb: number,
  c: number,
  ldc: number,
  m: number,
  n: number,
  k: number,
  accumulate: number,
  work: number,
  packed: number,
) => void;

/** Message that starts a worker. */
export interface WorkerInit {
  /**
   * The kernel modules whose exports make the map table, in order (see `mapTable`), and then
   * the matmul module's (its packing routines).
   */
  mapModules: readonly WebAssembly.Module[];
  /** The matmul module (exports `gemm`). */
  module: WebAssembly.Module;
  /** The shared memory every thread computes in. */
  memory: WebAssembly.Memory;
  /** Byte offset of the control block. */
  ctrl: number;
  /** Words in the control block. */
  ctrlWords: number;
  /** The worker's slot (its word is `CTRL.SLOTS + slot`). */
  slot: number;
  /** Byte offset of the worker's matmul scratch block. */
  work: number;
  /** Byte offset of the registry of kernels made at run time (see `REGISTRY_CAPACITY`). */
  registry: number;
}

/** What a thread took part in: chunks it ran and the first error one of them threw. */
export interface Drained {
  /** Chunks this thread ran. */
  taken: number;
  /** The first error of those chunks (`undefined` if none failed). */
  error: unknown;
}

/** The routines of the hand-off, made by {@linkcode threadRoutines}. */
export interface ThreadRoutines {
  /** Runs chunk `q` of the open gemm job. */
  runChunk(ctrl: Int32Array, gemm: GemmFn, work: number, q: number): void;
  /** Runs chunk `q` of the open map job with the thread's map table. */
  runMapChunk(ctrl: Int32Array, fns: readonly MapFn[], q: number): void;
  /** How many chunks the open job has. */
  chunkCount(ctrl: Int32Array): number;
  /**
   * The map table of a thread's kernel module instances: their exported functions, module by
   * module in export order, so that the caller and every worker number them alike.
   */
  mapTable(instances: readonly WebAssembly.Instance[]): {
    fns: MapFn[];
    index: Map<string, number>;
  };
  /**
   * Takes and runs chunks of the open job until none are left. A failing chunk still counts
   * as done (so nobody waits forever) and sets `ERROR`.
   */
  drainChunks(ctrl: Int32Array, run: (q: number) => void, total: number): Drained;
  /**
   * Appends to a worker's map table the functions of the registered modules it lacks (those
   * after the first `loaded`), in registration order; returns how many are loaded now.
   */
  loadRegistered(
    init: WorkerInit,
    imports: WebAssembly.Imports,
    fns: MapFn[],
    loaded: number,
  ): number;
  /** Spins while `ctrl[index] === value`, at most `micros`; returns whether it changed. */
  spinWhileEqual(ctrl: Int32Array, index: number, value: number, micros: number): boolean;
  /**
   * A worker's life: instantiates the kernels, then sleeps on the generation word and joins
   * open jobs until `JOB.EXIT` or `IDLE_MS` without a job; finally frees its slot.
   */
  serve(init: WorkerInit): void;
}

/**
 * Makes the routines every thread runs, for the control block `layout`.
 *
 * This function must stay self-contained, because the worker program is its source text
 * (`String(threadRoutines)`): it may use its parameter and JS globals (`Atomics`,
 * `WebAssembly`, `performance`, `console`) and nothing else. The routines are methods of one
 * object literal, not named function declarations, so that a bundler that keeps function
 * names (esbuild's `keepNames`) finds nothing in it to wrap in a helper of its own.
 *
 * @example
 * ```ts
 * import { CTRL, LAYOUT, threadRoutines } from "./_threads.ts";
 * const { chunkCount } = threadRoutines(LAYOUT);
 * const ctrl = new Int32Array(256);
 * ctrl[CTRL.ARGS] = 1; // a gemm job of 2 batches × 3 × 4 chunks
 * ctrl.set([2, 3, 4], CTRL.ARGS + 16);
 * console.log(chunkCount(ctrl)); // 24
 * ```
 */
export function threadRoutines(layout: Layout): ThreadRoutines {
  const { ctrl: CTRL, job: JOB, map: MAP, arg: ARG } = layout;
  const at = CTRL.ARGS;
  const routines: ThreadRoutines = {
    // Pointer sums may pass 2³¹; the Wasm call wraps them to the same unsigned i32 address.
    runChunk(ctrl, gemm, work, q) {
      const m = ctrl[at + ARG.M], n = ctrl[at + ARG.N];
      const chunkM = ctrl[at + ARG.CHUNK_M], chunkN = ctrl[at + ARG.CHUNK_N];
      const gridN = ctrl[at + ARG.GRID_N], perBatch = ctrl[at + ARG.GRID_M] * gridN;
      const bi = Math.floor(q / perBatch), rest = q - bi * perBatch;
      const i0 = Math.floor(rest / gridN) * chunkM, j0 = (rest % gridN) * chunkN;
      const rsa = ctrl[at + ARG.RSA], csb = ctrl[at + ARG.CSB], ldc = ctrl[at + ARG.LDC];
      gemm(
        ctrl[at + ARG.A] + 4 * (bi * ctrl[at + ARG.SBA] + i0 * rsa),
        rsa,
        ctrl[at + ARG.CSA],
        ctrl[at + ARG.B] + 4 * (bi * ctrl[at + ARG.SBB] + j0 * csb),
        ctrl[at + ARG.RSB],
        csb,
        ctrl[at + ARG.C] + 4 * (bi * ctrl[at + ARG.SBC] + i0 * ldc + j0),
        ldc,
        Math.min(chunkM, m - i0),
        Math.min(chunkN, n - j0),
        ctrl[at + ARG.K],
        ctrl[at + ARG.ACC],
        work,
        ctrl[at + ARG.PACKED],
      );
    },

    runMapChunk(ctrl, fns, q) {
      const units = ctrl[at + MAP.UNITS], chunk = ctrl[at + MAP.CHUNK];
      const u0 = q * chunk, n = Math.min(chunk, units - u0);
      const args: number[] = [];
      for (let i = 0; i < ctrl[at + MAP.NARGS]; i++) {
        args.push(ctrl[at + MAP.VALUES + i] + ctrl[at + MAP.STEPS + i] * u0);
      }
      args[ctrl[at + MAP.COUNT_AT]] = n * ctrl[at + MAP.SCALE];
      fns[ctrl[at + MAP.FN]](...args);
    },

    chunkCount(ctrl) {
      if (ctrl[at + ARG.KIND] === JOB.MAP) {
        return Math.ceil(ctrl[at + MAP.UNITS] / ctrl[at + MAP.CHUNK]);
      }
      return ctrl[at + ARG.BATCH] * ctrl[at + ARG.GRID_M] * ctrl[at + ARG.GRID_N];
    },

    mapTable(instances) {
      const fns: MapFn[] = [];
      const index = new Map<string, number>();
      instances.forEach((instance, m) => {
        for (const [name, value] of Object.entries(instance.exports)) {
          if (typeof value !== "function") continue;
          index.set(`${m}.${name}`, fns.length);
          fns.push(value as MapFn);
        }
      });
      return { fns, index };
    },

    drainChunks(ctrl, run, total) {
      let error: unknown, taken = 0;
      for (;;) {
        const q = Atomics.add(ctrl, CTRL.NEXT, 1);
        if (q >= total) return { taken, error };
        taken++;
        try {
          run(q);
        } catch (e) {
          Atomics.store(ctrl, CTRL.ERROR, 1);
          error ??= e;
        }
        // Wake the caller only when it may be waiting for the last chunk.
        if (Atomics.add(ctrl, CTRL.DONE, 1) + 1 === total) Atomics.notify(ctrl, CTRL.DONE);
      }
    },

    loadRegistered(init, imports, fns, loaded) {
      const registry = new Int32Array(init.memory.buffer, init.registry);
      const count = Atomics.load(registry, 0);
      for (let k = loaded; k < count; k++) {
        const [at, length] = [registry[1 + 2 * k], registry[2 + 2 * k]];
        // This thread's view of the memory keeps the length it last saw: where another thread
        // has grown it since, growing by nothing brings the view up to date.
        if (at + length > init.memory.buffer.byteLength) init.memory.grow(0);
        // A copy: a module compiles from an unshared buffer.
        const bytes = new Uint8Array(init.memory.buffer, at, length).slice();
        const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports);
        for (const value of Object.values(instance.exports)) {
          if (typeof value === "function") fns.push(value as MapFn);
        }
      }
      return count;
    },

    // Sleeping in `Atomics.wait` costs a wake-up of tens of microseconds (more in a VM, where
    // an idle vCPU halts), which is the whole budget of a mid-size product, so a thread that
    // expects news soon spins for a short while first.
    spinWhileEqual(ctrl, index, value, micros) {
      const end = performance.now() + micros / 1000;
      for (;;) {
        for (let i = 0; i < 256; i++) if (Atomics.load(ctrl, index) !== value) return true;
        if (performance.now() >= end) return false;
      }
    },

    // Never returns to the event loop while it serves, which is why the hand-off is all
    // Atomics.
    serve(init) {
      const imports = { env: { memory: init.memory, log: Math.log } };
      const matmul = new WebAssembly.Instance(init.module, imports);
      const gemm = matmul.exports.gemm as GemmFn;
      const { fns } = routines.mapTable([
        ...init.mapModules.map((m) => new WebAssembly.Instance(m, imports)),
        matmul,
      ]);
      const ctrl = new Int32Array(init.memory.buffer, init.ctrl, init.ctrlWords);
      let loaded = 0;
      let seen = Atomics.load(ctrl, CTRL.GEN);
      Atomics.add(ctrl, CTRL.READY, 1);
      for (;;) {
        // Right after a job the next one is likely close behind (a training step is many ops).
        if (
          !routines.spinWhileEqual(ctrl, CTRL.GEN, seen, Atomics.load(ctrl, CTRL.SPIN_US)) &&
          Atomics.wait(ctrl, CTRL.GEN, seen, Atomics.load(ctrl, CTRL.IDLE_MS)) === "timed-out"
        ) {
          // Retire. A job published meanwhile is still done: the caller drains what nobody
          // takes.
          Atomics.sub(ctrl, CTRL.READY, 1);
          break;
        }
        Atomics.add(ctrl, CTRL.ACTIVE, 1);
        const gen = Atomics.load(ctrl, CTRL.GEN);
        if (gen !== seen && Atomics.load(ctrl, CTRL.OPEN) === gen) {
          if (ctrl[at + ARG.KIND] === JOB.EXIT) {
            if (Atomics.sub(ctrl, CTRL.ACTIVE, 1) === 1) Atomics.notify(ctrl, CTRL.ACTIVE);
            break;
          }
          if (ctrl[at + ARG.KIND] === JOB.MAP && ctrl[at + MAP.FN] >= fns.length) {
            // (Should a module fail here, its chunks fail below and the caller reports it.)
            try {
              loaded = routines.loadRegistered(init, imports, fns, loaded);
            } catch (e) {
              console.error("nabla wasm worker: a kernel failed to load:", e);
            }
          }
          const run = ctrl[at + ARG.KIND] === JOB.MAP
            ? (q: number) => routines.runMapChunk(ctrl, fns, q)
            : (q: number) => routines.runChunk(ctrl, gemm, init.work, q);
          const { taken, error } = routines.drainChunks(ctrl, run, routines.chunkCount(ctrl));
          if (taken > 0) Atomics.add(ctrl, CTRL.WORKED, 1);
          if (error !== undefined) console.error("nabla wasm worker: a chunk failed:", error);
        }
        seen = gen;
        if (Atomics.sub(ctrl, CTRL.ACTIVE, 1) === 1) Atomics.notify(ctrl, CTRL.ACTIVE);
      }
      // This thread touches nothing after this store: the slot and its scratch block are free.
      Atomics.store(ctrl, CTRL.SLOTS + init.slot, 0);
    },
  };
  return routines;
}
