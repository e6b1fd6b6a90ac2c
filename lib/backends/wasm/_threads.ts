/**
 * The hand-off protocol between the calling thread and the worker threads, shared by both
 * sides: a control block of int32 words in the shared memory, and the chunk loop every thread
 * runs. Private to the wasm backend.
 *
 * A job is a batched gemm cut into independent chunks (batch × row blocks × column blocks), or
 * a "map": one exported kernel (elementwise, softmax) run over a range of work units cut into
 * chunks of whole units.
 * The caller writes the arguments, opens the job and bumps the generation word; threads grab
 * chunks with an atomic counter until none are left, so a worker that wakes late simply takes
 * fewer chunks and the caller never waits for a thread that is not there.
 *
 * Closing protocol (why `ACTIVE` and `OPEN` exist): a worker announces itself in `ACTIVE`
 * *before* it re-reads the generation and checks that the job is still `OPEN`; the caller closes
 * the job and waits for `ACTIVE` to drain before it writes the next job's arguments. So no worker
 * ever reads half-written arguments or takes a chunk of the next job with the old ones.
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
  ARGS: 112,
} as const;

/** Bytes reserved for the control block. */
export const CTRL_BYTES = 1024;

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
  STEPS: 16,
} as const;

/** Most arguments a map kernel may take. */
export const MAP_MAX_ARGS = 8;

/** A kernel of a map job: i32 arguments (pointers, counts), no result. */
export type MapFn = (...args: number[]) => void;

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
} as const;

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
) => void;

/** Message that starts a worker. */
export interface WorkerInit {
  /** The kernel modules whose exports make the map table, in order (see {@linkcode mapTable}). */
  mapModules: readonly WebAssembly.Module[];
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  ctrl: number;
  work: number;
}

/**
 * Runs chunk `q` of the gemm job whose arguments start at `args` in `ctrl`. Pointer sums may
 * pass 2³¹; the Wasm call wraps them to the same unsigned i32 address.
 */
export function runChunk(ctrl: Int32Array, gemm: GemmFn, work: number, q: number): void {
  const at = CTRL.ARGS;
  const w = (slot: number) => ctrl[at + slot];
  const m = w(ARG.M), n = w(ARG.N), gridM = w(ARG.GRID_M), gridN = w(ARG.GRID_N);
  const perBatch = gridM * gridN;
  const bi = Math.floor(q / perBatch), rest = q - bi * perBatch;
  const i0 = Math.floor(rest / gridN) * w(ARG.CHUNK_M), j0 = (rest % gridN) * w(ARG.CHUNK_N);
  const mm = Math.min(w(ARG.CHUNK_M), m - i0), nn = Math.min(w(ARG.CHUNK_N), n - j0);
  const rsa = w(ARG.RSA), csb = w(ARG.CSB), ldc = w(ARG.LDC);
  gemm(
    w(ARG.A) + 4 * (bi * w(ARG.SBA) + i0 * rsa),
    rsa,
    w(ARG.CSA),
    w(ARG.B) + 4 * (bi * w(ARG.SBB) + j0 * csb),
    w(ARG.RSB),
    csb,
    w(ARG.C) + 4 * (bi * w(ARG.SBC) + i0 * ldc + j0),
    ldc,
    mm,
    nn,
    w(ARG.K),
    w(ARG.ACC),
    work,
  );
}

/**
 * Runs chunk `q` of the open map job with the thread's map table.
 */
export function runMapChunk(ctrl: Int32Array, fns: readonly MapFn[], q: number): void {
  const at = CTRL.ARGS;
  const units = ctrl[at + MAP.UNITS], chunk = ctrl[at + MAP.CHUNK];
  const u0 = q * chunk, n = Math.min(chunk, units - u0);
  const args: number[] = [];
  for (let i = 0; i < ctrl[at + MAP.NARGS]; i++) {
    args.push(ctrl[at + MAP.VALUES + i] + ctrl[at + MAP.STEPS + i] * u0);
  }
  args[ctrl[at + MAP.COUNT_AT]] = n * ctrl[at + MAP.SCALE];
  fns[ctrl[at + MAP.FN]](...args);
}

/** How many chunks the open job has. */
export function chunkCount(ctrl: Int32Array): number {
  const a = CTRL.ARGS;
  if (ctrl[a + ARG.KIND] === JOB.MAP) {
    return Math.ceil(ctrl[a + MAP.UNITS] / ctrl[a + MAP.CHUNK]);
  }
  return ctrl[a + ARG.BATCH] * ctrl[a + ARG.GRID_M] * ctrl[a + ARG.GRID_N];
}

/**
 * The kernels of the map table: the exported functions of each module, module by module in
 * export order, so that the caller and every worker number them alike.
 */
export function mapTable(instances: readonly WebAssembly.Instance[]): {
  fns: MapFn[];
  index: Map<string, number>;
} {
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
}

/**
 * Takes and runs chunks of the open job until none are left. A failing chunk still counts as
 * done (so nobody waits forever) and sets `ERROR`; the first error is returned to the caller.
 */
export function drainChunks(
  ctrl: Int32Array,
  run: (q: number) => void,
  total: number,
): unknown {
  let error: unknown;
  for (;;) {
    const q = Atomics.add(ctrl, CTRL.NEXT, 1);
    if (q >= total) return error;
    try {
      run(q);
    } catch (e) {
      Atomics.store(ctrl, CTRL.ERROR, 1);
      error ??= e;
    }
    // Wake the caller only when it may be waiting for the last chunk.
    if (Atomics.add(ctrl, CTRL.DONE, 1) + 1 === total) Atomics.notify(ctrl, CTRL.DONE);
  }
}

/**
 * Spins until `ctrl[index]` differs from `value` or `micros` have passed; returns whether it
 * changed. Sleeping in `Atomics.wait` costs a wake-up of tens of microseconds (more in a VM,
 * where an idle vCPU halts), which is the whole budget of a mid-size product, so a thread that
 * expects news soon spins for a short while first.
 */
export function spinWhileEqual(
  ctrl: Int32Array,
  index: number,
  value: number,
  micros: number,
): boolean {
  const end = performance.now() + micros / 1000;
  for (;;) {
    for (let i = 0; i < 256; i++) if (Atomics.load(ctrl, index) !== value) return true;
    if (performance.now() >= end) return false;
  }
}

/**
 * The worker's main loop: sleep on the generation word, join open jobs, exit on `JOB.EXIT`.
 * Never returns to the event loop while the pool lives, which is why hand-off is all Atomics.
 */
export function workerLoop(
  ctrl: Int32Array,
  gemm: GemmFn,
  work: number,
  mapFns: readonly MapFn[],
): void {
  let seen = Atomics.load(ctrl, CTRL.GEN);
  Atomics.add(ctrl, CTRL.READY, 1);
  for (;;) {
    // Right after a job the next one is likely close behind (a training step is many ops).
    if (!spinWhileEqual(ctrl, CTRL.GEN, seen, Atomics.load(ctrl, CTRL.SPIN_US))) {
      Atomics.wait(ctrl, CTRL.GEN, seen);
    }
    Atomics.add(ctrl, CTRL.ACTIVE, 1);
    const gen = Atomics.load(ctrl, CTRL.GEN);
    if (gen !== seen && Atomics.load(ctrl, CTRL.OPEN) === gen) {
      if (ctrl[CTRL.ARGS + ARG.KIND] === JOB.EXIT) {
        if (Atomics.sub(ctrl, CTRL.ACTIVE, 1) === 1) Atomics.notify(ctrl, CTRL.ACTIVE);
        return;
      }
      const map = ctrl[CTRL.ARGS + ARG.KIND] === JOB.MAP;
      const run = map
        ? (q: number) => runMapChunk(ctrl, mapFns, q)
        : (q: number) => runChunk(ctrl, gemm, work, q);
      const error = drainChunks(ctrl, run, chunkCount(ctrl));
      if (error !== undefined) console.error("nabla wasm worker: a chunk failed:", error);
    }
    seen = gen;
    if (Atomics.sub(ctrl, CTRL.ACTIVE, 1) === 1) Atomics.notify(ctrl, CTRL.ACTIVE);
  }
}
