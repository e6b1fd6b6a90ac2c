/**
 * Fused elementwise kernels: a chain of float32, int32 and bool operations that `jit` grouped
 * into one cluster becomes one generated Wasm SIMD loop, which reads each input once per
 * vector, keeps every intermediate value in registers and writes only the values used outside
 * the chain (float32 and int32 lanes, bool masks as bytes).
 *
 * The float32 operations are the SIMD ones of the eager kernels, emitted by the same code, so
 * fused results equal the eager SIMD results: `neg abs sqrt exp tanh sigmoid`, `add sub mul div
 * max min`, comparisons (as lane masks), `select` and `convert` of a mask to float32. On int32
 * lanes: `neg abs add sub mul max min` (wrapping as the reference kernels do), comparisons,
 * `select` and `convert` of a mask. Inputs are tensors of the output's shape; along the
 * innermost run of elements each is dense or one broadcast value (any other view is packed
 * first), and rows of a block advance by their own strides (a broadcast bias over `[N, C]`).
 * A module is generated per chain and per input layout, and cached.
 *
 * @example
 * ```ts
 * import { fusedKernel } from "./_fused.ts";
 * import { HeapStorage } from "./_storage.ts";
 * import { WasmContext } from "./_context.ts";
 * import { CpuBuffer } from "../cpu/mod.ts";
 * import assert from "node:assert/strict";
 * const heap = new HeapStorage(new WasmContext({ threads: 1 }));
 * const f32 = { shape: [3], dtype: "float32", device: "wasm" } as const;
 * // exp(x) * x + 1, with the 1 a broadcast scalar
 * const kernel = fusedKernel({
 *   inputs: [f32, f32],
 *   ops: [
 *     { name: "exp", params: {}, args: [0], out: f32 },
 *     { name: "mul", params: {}, args: [2, 0], out: f32 },
 *     { name: "add", params: {}, args: [3, 1], out: f32 },
 *   ],
 *   outputs: [0, 2], // exp(x) is written too
 * });
 * const x = new CpuBuffer(new Float32Array([0, 1, 2]), [3]);
 * const one = new CpuBuffer(new Float32Array([1]), [3], [0]);
 * const [e, y] = kernel([x, one], heap);
 * assert.ok(Math.abs(e.data[2] - Math.exp(2)) < 1e-5);
 * assert.ok(Math.abs(y.data[2] - (Math.exp(2) * 2 + 1)) < 1e-4);
 * ```
 *
 * @module
 */

import type { Aval, FusedSpec, Params } from "../../core/backend.ts";
import type { DType } from "../../core/dtype.ts";
import { sizeOf, stridesOf } from "../../core/shape.ts";
import { CpuBuffer, forEachBlock, pack } from "../cpu/mod.ts";
import {
  emitUnary,
  f32c,
  F32X4_BINARY,
  hoistConstants,
  i32c,
  type UnaryLocals,
} from "./_elementwise_module.ts";
import { type FunctionBuilder, type Local, ModuleBuilder } from "./_emitter.ts";
import type { HeapStorage } from "./_storage.ts";
import { MAP_MAX_ARGS } from "./_threads.ts";

type Emit = (f: FunctionBuilder) => void;
const UNARY = new Set(["neg", "abs", "sqrt", "exp", "tanh", "sigmoid"]);
const BINARY = F32X4_BINARY;
const COMPARE: Record<string, Emit> = {
  gt: (f) => f.f32x4.gt(),
  ge: (f) => f.f32x4.ge(),
  lt: (f) => f.f32x4.lt(),
  le: (f) => f.f32x4.le(),
  eq: (f) => f.f32x4.eq(),
  ne: (f) => f.f32x4.ne(),
};
// int32 lanes wrap on overflow, as the reference kernels do.
const INT_UNARY: Record<string, Emit> = {
  neg: (f) => f.i32x4.neg(),
  abs: (f) => f.i32x4.abs(),
};
const INT_BINARY: Record<string, Emit> = {
  add: (f) => f.i32x4.add(),
  sub: (f) => f.i32x4.sub(),
  mul: (f) => f.i32x4.mul(),
  max: (f) => f.i32x4.max_s(),
  min: (f) => f.i32x4.min_s(),
};
const INT_COMPARE: Record<string, Emit> = {
  gt: (f) => f.i32x4.gt_s(),
  ge: (f) => f.i32x4.ge_s(),
  lt: (f) => f.i32x4.lt_s(),
  le: (f) => f.i32x4.le_s(),
  eq: (f) => f.i32x4.eq(),
  ne: (f) => f.i32x4.ne(),
};

const isF32 = (a: Aval) => a.dtype === "float32";
const isI32 = (a: Aval) => a.dtype === "int32";

/**
 * Whether the wasm device fuses primitive `name` with these types.
 *
 * @example
 * ```ts
 * import { fusibleOnWasm } from "./_fused.ts";
 * import assert from "node:assert/strict";
 * const f32 = { shape: [2], dtype: "float32", device: "wasm" } as const;
 * assert.ok(fusibleOnWasm("tanh", [f32], f32));
 * assert.ok(!fusibleOnWasm("log", [f32], f32));
 * ```
 */
export function fusibleOnWasm(name: string, args: readonly Aval[], out: Aval): boolean {
  const same = (a: Aval) => a.dtype === out.dtype;
  if (UNARY.has(name) || name in BINARY) {
    const ints = name in INT_UNARY || name in INT_BINARY;
    return (isF32(out) || (ints && isI32(out))) && args.every(same);
  }
  if (name in COMPARE) return out.dtype === "bool" && (args.every(isF32) || args.every(isI32));
  if (name === "select") {
    return out.dtype !== "float64" && args[0].dtype === "bool" && same(args[1]) && same(args[2]);
  }
  if (name === "convert") return (isF32(out) || isI32(out)) && args[0].dtype === "bool";
  return false;
}

// Chains with at least this much work (elements times operations) are split across the
// context's threads, as single operations of as many elements are (see `_elementwise.ts`).
const PARALLEL = 1 << 18;

/**
 * A fused kernel over strided views: the inputs of a spec to its outputs' values, written into
 * `into[j]` (returned as output `j`) where that is a dense view in the heap of the output's
 * type.
 */
export type FusedKernel = (
  inputs: readonly CpuBuffer[],
  heap: HeapStorage,
  into?: readonly (CpuBuffer | undefined)[],
) => CpuBuffer[];

/**
 * Whether the wasm device ends a fused chain with this concatenation, writing its operands
 * (values of the chain, of one float32 or int32 shape) straight into their places. Their rows
 * must be whole vectors, since a row's last vector would otherwise run into the next operand's
 * place, written before it.
 *
 * @example
 * ```ts
 * import { fusibleConcatOnWasm } from "./_fused.ts";
 * import assert from "node:assert/strict";
 * const gate = { shape: [8, 4], dtype: "float32", device: "wasm" } as const;
 * const gates = { shape: [8, 16], dtype: "float32", device: "wasm" } as const;
 * assert.ok(fusibleConcatOnWasm([gate, gate, gate, gate], gates, { axis: 1 }));
 * assert.ok(!fusibleConcatOnWasm([{ ...gate, shape: [8, 3] }], { ...gates, shape: [8, 3] }, {}));
 * ```
 */
export function fusibleConcatOnWasm(args: readonly Aval[], out: Aval, _params: Params): boolean {
  const shape = args[0]?.shape ?? [];
  return shape.length > 0 && shape[shape.length - 1] % 4 === 0 &&
    (isF32(out) || isI32(out)) &&
    args.every((a) =>
      a.dtype === out.dtype && a.shape.length === shape.length &&
      a.shape.every((d, i) => d === shape[i])
    );
}

// One value the row loop writes: chain value `value` into result `result`, through a view of
// it (the result itself, or an operand's place in a concatenation).
interface Store {
  readonly value: number;
  readonly result: number;
  readonly strides: readonly number[];
  readonly offset: number;
}

// The stores of `spec`'s results over the chain's shape `shape`: each output operation's value,
// or, for a concatenation, each of its operands at its place.
function storesOf(spec: FusedSpec, shape: readonly number[]): Store[] {
  const nIn = spec.inputs.length;
  return spec.outputs.flatMap((k, result) => {
    const op = spec.ops[k];
    if (op.name !== "concat") {
      return [{ value: nIn + k, result, strides: stridesOf(shape), offset: 0 }];
    }
    const strides = stridesOf(op.out.shape);
    const axis = ((op.params.axis as number) + shape.length) % shape.length;
    return op.args.map((value, i) => ({
      value,
      result,
      strides,
      offset: i * shape[axis] * strides[axis],
    }));
  });
}

/** Compiles a fusible chain into a kernel over views in `heap` (modules cached per layout). */
export function fusedKernel(spec: FusedSpec): FusedKernel {
  const nIn = spec.inputs.length;
  const last = spec.ops[spec.ops.length - 1];
  const valueAval = (v: number) => v < nIn ? spec.inputs[v] : spec.ops[v - nIn].out;
  // The shape the chain computes: a concatenation's operands', or the last operation's.
  const shape = last.name === "concat" ? valueAval(last.args[0]).shape : last.out.shape;
  const size = sizeOf(shape);
  const results = spec.outputs.map((k) => spec.ops[k].out);
  const stores = storesOf(spec, shape);
  const dtypes = spec.inputs.map((a) => a.dtype);
  const chain = chainKey(spec);
  // Along the innermost dimension longer than 1 (where rows run), each input is dense ("v"),
  // one broadcast value ("s"), or strided and packed to dense first.
  const inner = shape.findLastIndex((d) => d !== 1);
  const modeOf = (x: CpuBuffer) =>
    inner < 0 || x.strides[inner] === 1 ? "v" : x.strides[inner] === 0 ? "s" : "";
  const widths = dtypes.map(byteWidth);
  const storeWidths = stores.map((s) => byteWidth(results[s.result].dtype));
  const prepare = layouts(
    dtypes,
    modeOf,
    (modes, heap) => compiled(spec, `${chain}|${modes}`, modes, stores, heap),
  );
  // The rows a call splits across threads: those of a chain of this many operations that
  // reach the work to split, with arguments that fit a map job.
  const least = PARALLEL / spec.ops.length;
  const threaded = 2 * (spec.inputs.length + stores.length) + 2 <= MAP_MAX_ARGS;
  // Each result: the view it was asked to fill, where it can be filled, or a fresh array.
  const resultViews = (heap: HeapStorage, into?: readonly (CpuBuffer | undefined)[]) =>
    results.map((a, j) => {
      const given = into?.[j];
      const fits = given !== undefined && given.contiguous && given.dtype === a.dtype &&
        given.size === sizeOf(a.shape) && heap.address(given.data) !== undefined;
      return fits ? given : new CpuBuffer(heap.array(a.dtype, sizeOf(a.shape), false), a.shape);
    });
  return (inputs, heap, into) => {
    const os = resultViews(heap, into);
    if (size === 0) return os;
    const { views, fn } = prepare(inputs, heap);
    const n = views.length, m = stores.length;
    const bases = new Array<number>(n);
    const strides = new Array<readonly number[]>(n + m);
    const offsets = new Array<number>(n + m);
    for (let i = 0; i < n; i++) {
      bases[i] = heap.address(views[i].data)!;
      strides[i] = views[i].strides;
      offsets[i] = views[i].offset;
    }
    for (let j = 0; j < m; j++) {
      strides[n + j] = stores[j].strides;
      offsets[n + j] = stores[j].offset;
    }
    const args = new Array<number>(2 * (n + m) + 2);
    const steps = new Array<number>(args.length).fill(0);
    forEachBlock(shape, strides, offsets, (offs, count, rows, _steps, rowSteps) => {
      for (let i = 0; i < n; i++) {
        args[i] = bases[i] + widths[i] * offs[i];
        args[n + m + 2 + i] = widths[i] * rowSteps[i];
      }
      for (let j = 0; j < m; j++) {
        const o = os[stores[j].result];
        args[n + j] = o.data.byteOffset + storeWidths[j] * (o.offset + offs[n + j]);
        args[2 * n + m + 2 + j] = storeWidths[j] * rowSteps[n + j];
      }
      args[n + m] = 4 * (count + 3 & ~3);
      args[n + m + 1] = rows;
      if (!threaded || fn.index === null || count * rows < least) fn.run(...args);
      else if (rows === 1) {
        // One long row: the threads take runs of whole vectors (4 elements) of it.
        for (let k = 0; k < n; k++) steps[k] = modeOf(views[k]) === "s" ? 0 : 4 * widths[k];
        for (let j = 0; j < m; j++) steps[n + j] = 4 * storeWidths[j];
        steps[n + m + 1] = 0;
        const units = (count + 3) >> 2;
        heap.ctx.mapAt(fn.index, args, { units, steps, countAt: n + m, scale: 16 });
      } else if (count % 4 === 0) {
        // Whole rows, whose last vectors end exactly at the row's end: no thread writes into
        // another's rows.
        for (let k = 0; k < n + m; k++) steps[k] = args[n + m + 2 + k];
        steps[n + m + 1] = 0;
        heap.ctx.mapAt(fn.index, args, { units: rows, steps, countAt: n + m + 1, scale: 1 });
      } else fn.run(...args);
    });
    return os;
  };
}

/** A generated function over rows (see {@linkcode rowModule}). */
export type RowFn = (...args: number[]) => void;

/** Bytes per element in a kernel's memory: one for bool, four for float32 and int32. */
export const byteWidth = (dtype: DType): number => (dtype === "bool" ? 1 : 4);

/**
 * What a fused kernel does first on every call: its inputs brought into the heap, each in the
 * layout `modeOf` names ("v" dense, "s" one value per row; any other view is packed dense
 * first), and the module `build` makes for those layouts (made once per layout and heap).
 */
export function layouts<K = RowFn>(
  dtypes: readonly DType[],
  modeOf: (x: CpuBuffer) => string,
  build: (modes: string, heap: HeapStorage) => K,
): (inputs: readonly CpuBuffer[], heap: HeapStorage) => { views: CpuBuffer[]; fn: K } {
  const byModes = new Map<string, K>();
  let modulesHeap: HeapStorage | null = null;
  return (inputs, heap) => {
    if (heap !== modulesHeap) {
      byModes.clear();
      modulesHeap = heap;
    }
    const views = new Array<CpuBuffer>(inputs.length);
    let modes = "";
    for (let i = 0; i < inputs.length; i++) {
      const x = inputs[i];
      const mode = modeOf(x);
      if (mode === "") {
        views[i] = packInHeap(heap, x, dtypes[i]);
        modes += modeOf(views[i]);
      } else {
        views[i] = heap.address(x.data) === undefined ? copyInHeap(heap, x, dtypes[i]) : x;
        modes += mode;
      }
    }
    let fn = byModes.get(modes);
    if (fn === undefined) byModes.set(modes, fn = build(modes, heap));
    return { views, fn };
  };
}

// The same view of a heap copy of `x`'s storage (for small or evicted tensors).
function copyInHeap(heap: HeapStorage, x: CpuBuffer, dtype: DType): CpuBuffer {
  const copy = heap.array(dtype, x.data.length, false);
  copy.set(x.data);
  return new CpuBuffer(copy, x.shape, x.strides, x.offset);
}

// A dense heap copy of the view `x`.
function packInHeap(heap: HeapStorage, x: CpuBuffer, dtype: DType): CpuBuffer {
  return new CpuBuffer(pack(x, dtype, (d, n) => heap.array(d, n, false)), x.shape);
}

// What the generated code depends on: the operations, their wiring and the input dtypes (a
// recurrent network's time steps share one module).
function chainKey(spec: FusedSpec): string {
  const ops = spec.ops.map((op) =>
    `${op.name}${op.name === "convert" ? op.params.dtype : ""}(${op.args})`
  );
  return `${spec.inputs.map((a) => a.dtype)};${ops};${spec.outputs}`;
}

const modules = new WeakMap<HeapStorage, Map<string, RowKernel>>();

function compiled(
  spec: FusedSpec,
  key: string,
  modes: string,
  stores: readonly Store[],
  heap: HeapStorage,
): RowKernel {
  let cache = modules.get(heap);
  if (cache === undefined) modules.set(heap, cache = new Map());
  let fn = cache.get(key);
  if (fn === undefined) cache.set(key, fn = instantiate(spec, modes, stores, heap));
  return fn;
}

// One Wasm function `(inputs..., stores..., bytes, rows, inputSteps..., storeSteps...)`
// computing the chain over `rows` rows of whole vectors, each pointer advancing by its step
// (in bytes) from one row to the next. A row's last vector may run past its end into the next
// row, which is computed after it, so the rows of the dense outputs come out right.
function instantiate(
  spec: FusedSpec,
  modes: string,
  stores: readonly Store[],
  heap: HeapStorage,
): RowKernel {
  const nIn = spec.inputs.length;
  const concat = spec.ops[spec.ops.length - 1].name === "concat";
  const dtypes = stores.map((s) => spec.ops[spec.outputs[s.result]].out.dtype);
  return rowKernel(heap, nIn + stores.length, 0, (f, { pointer, bytes }) => {
    // (A concatenation is no arithmetic: its operands' stores place them.)
    const chain = chainEmitter(f, spec, modes, pointer, spec.ops.length - (concat ? 1 : 0));
    chain.loadScalars();
    pairedVectorLoop(f, bytes, (p, lanes) => {
      chain.compute(p, lanes);
      for (let lane = 0; lane < lanes; lane++) {
        stores.forEach(({ value }, j) => {
          storeOutput(f, pointer(nIn + j), p, dtypes[j], chain.lane(lane)[value], lane);
        });
      }
    });
  });
}

// `body(p, 2)` over pairs of vectors while two remain, then `body(p, 1)` for a last one. A
// chain of exp, tanh and sigmoid is one long dependency path per vector: two independent ones
// side by side keep the core busy while each waits on its own results (an LSTM cell's chain
// ran 1.2× faster so on one core).
function pairedVectorLoop(
  f: FunctionBuilder,
  bytes: Local,
  body: (p: Local, lanes: 1 | 2) => void,
): void {
  const p = f.addLocal("i32");
  f.i32.const(0).local.set(p);
  f.block((exit) => {
    f.loop((top) => {
      f.local.get(p).i32.const(32).i32.add().local.get(bytes).i32.gt_u().brIf(exit);
      body(p, 2);
      f.local.get(p).i32.const(32).i32.add().local.set(p).br(top);
    });
  });
  f.local.get(p).local.get(bytes).i32.lt_u().if(() => body(p, 1));
}

/** What {@linkcode rowModule} gives the body of its row loop. */
export interface RowLocals {
  /** Pointer `k` (a parameter, advanced by its step after each row). */
  pointer(k: number): Local;
  /** The bytes of whole vectors in a row. */
  bytes: Local;
  /** Extra `i32` parameter `k` (after the steps). */
  extra(k: number): Local;
}

/**
 * Instantiates on `heap`'s memory one function `run(pointers..., bytes, rows, steps...,
 * extras...)` that runs `body` once per row and then advances every pointer by its step.
 */
export function rowModule(
  heap: HeapStorage,
  pointers: number,
  extras: number,
  body: (f: FunctionBuilder, locals: RowLocals) => void,
): RowFn {
  return rowKernel(heap, pointers, extras, body).run;
}

/** A {@linkcode rowModule} function, and its index for the context's threads (`mapAt`). */
export interface RowKernel {
  /** The function, on the calling thread. */
  readonly run: RowFn;
  /** Its index in the context's map table; `null` when only the calling thread has it. */
  readonly index: number | null;
}

/** {@linkcode rowModule}'s function, registered so that the context's workers can run it. */
export function rowKernel(
  heap: HeapStorage,
  pointers: number,
  extras: number,
  body: (f: FunctionBuilder, locals: RowLocals) => void,
): RowKernel {
  const mb = new ModuleBuilder().importMemory("env", "memory", {
    initial: 0,
    maximum: 65536,
    shared: true,
  });
  const i32s = (n: number) => new Array<"i32">(n).fill("i32");
  mb.addFunction("run", [...i32s(pointers), "i32", "i32", ...i32s(pointers + extras)], [], (f) => {
    const bytes = f.param(pointers), rows = f.param(pointers + 1);
    const pointer = (k: number) => f.param(k), step = (k: number) => f.param(pointers + 2 + k);
    const extra = (k: number) => f.param(2 * pointers + 2 + k);
    hoistConstants(f, () => {
      f.block((exit) => {
        f.loop((top) => {
          f.local.get(rows).i32.eqz().brIf(exit);
          body(f, { pointer, bytes, extra });
          for (let k = 0; k < pointers; k++) {
            f.local.get(pointer(k)).local.get(step(k)).i32.add().local.set(pointer(k));
          }
          f.local.get(rows).i32.const(1).i32.sub().local.set(rows).br(top);
        });
      });
    });
  });
  return heap.ctx.registerKernel(mb.toBytes());
}

/** The code of a chain's operations, emitted into a row loop by {@linkcode chainEmitter}. */
export interface ChainEmitter {
  /** The locals of the inputs' and then the operations' values (one vector each). */
  readonly values: readonly Local[];
  /** Those of the vector `16·lane` bytes after `p` in {@linkcode ChainEmitter.compute}. */
  lane(lane: number): readonly Local[];
  /** Loads the inputs that are one value per row (mode "s"); once per row. */
  loadScalars(): void;
  /**
   * Loads the dense inputs at byte `p` and computes every operation of the chain; with `lanes`
   * above 1, as many consecutive vectors, their operations interleaved.
   */
  compute(p: Local, lanes?: number): void;
}

/**
 * Emits `spec`'s operations over vectors (all of them, or the first `count`), its inputs read
 * through `pointer(i)` in `modes` ("v": dense, "s": one broadcast value per row).
 */
export function chainEmitter(
  f: FunctionBuilder,
  spec: FusedSpec,
  modes: string,
  pointer: (k: number) => Local,
  count: number = spec.ops.length,
): ChainEmitter {
  const nIn = spec.inputs.length;
  const v = () => f.addLocal("v128");
  const dtypeOf = (a: number) => (a < nIn ? spec.inputs[a] : spec.ops[a - nIn].out).dtype;
  // Per lane: the values (a broadcast input's is lane 0's) and the scratch of its operations.
  const lanes: { values: Local[]; temps: UnaryLocals }[] = [];
  const lane = (l: number) => {
    while (lanes.length <= l) {
      const values = [
        ...spec.inputs.map((_, i) =>
          lanes.length > 0 && modes[i] === "s" ? lanes[0].values[i] : v()
        ),
        ...spec.ops.map(v),
      ];
      const temps = { x: v(), u: v(), t: v(), n: v(), r: v(), z: v() };
      lanes.push({ values, temps });
    }
    return lanes[l];
  };
  const { values } = lane(0);
  return {
    values,
    lane: (l) => lane(l).values,
    loadScalars: () => {
      spec.inputs.forEach((a, i) => {
        if (modes[i] === "s") loadInput(f, pointer(i), null, a.dtype, values[i]);
      });
    },
    compute: (p, count_ = 1) => {
      const all = Array.from({ length: count_ }, (_, l) => lane(l));
      all.forEach(({ values }, l) => {
        spec.inputs.forEach((a, i) => {
          if (modes[i] === "v") loadInput(f, pointer(i), p, a.dtype, values[i], l);
        });
      });
      spec.ops.slice(0, count).forEach((op, k) => {
        const ints = dtypeOf(op.args[op.name === "select" ? 1 : 0]) === "int32";
        for (const { values, temps } of all) {
          emitOp(f, op.name, op.args.map((a) => values[a]), temps, op.params, ints);
          f.local.set(values[nIn + k]);
        }
      });
    },
  };
}

/**
 * Stores `value` at output `ptr`: the vector at byte `p` (float32, int32), or its lane masks as
 * four bytes 0/1 at `p/4` (bool); `lane` vectors further on.
 */
export function storeOutput(
  f: FunctionBuilder,
  ptr: Local,
  p: Local,
  dtype: DType,
  value: Local,
  lane = 0,
): void {
  if (dtype !== "bool") {
    f.local.get(ptr).local.get(p).i32.add().local.get(value).v128.store(16 * lane);
    return;
  }
  f.local.get(ptr).local.get(p).i32.const(2).i32.shr_u().i32.add();
  f.local.get(value).local.get(value).i16x8.narrow_i32x4_s();
  f.local.get(value).local.get(value).i16x8.narrow_i32x4_s().i8x16.narrow_i16x8_s();
  i32c(f, 0x01010101).v128.and().v128.store32_lane(0, 4 * lane);
}

// Loads input `ptr` into `into`: the vector at byte `p` (float32, int32) or `p/4` (bool), `lane`
// vectors further on, or, with no `p`, its first element splatted. A bool becomes a lane mask
// (all ones for true).
function loadInput(
  f: FunctionBuilder,
  ptr: Local,
  p: Local | null,
  dtype: DType,
  into: Local,
  lane = 0,
) {
  if (dtype !== "bool") {
    f.local.get(ptr);
    if (p === null) f.v128.load32_splat();
    else f.local.get(p).i32.add().v128.load(16 * lane);
  } else if (p === null) {
    // 0 - (byte != 0) is 0 or -1, splat to four lanes
    f.i32.const(0).local.get(ptr).i32.load8_u().i32.const(0).i32.ne().i32.sub().i32x4.splat();
  } else {
    i32c(f, 0);
    f.local.get(ptr).local.get(p).i32.const(2).i32.shr_u().i32.add().v128.load32_zero(4 * lane);
    f.i16x8.extend_low_i8x16_u().i32x4.extend_low_i16x8_u().i32x4.sub();
  }
  f.local.set(into);
}

// Emits operation `name` on int32 lanes (`ints`) or float32 ones; a select's or a
// comparison's lanes are those of its operands.
function emitOp(
  f: FunctionBuilder,
  name: string,
  args: Local[],
  temps: UnaryLocals,
  params: Params,
  ints: boolean,
): void {
  if (ints && name in INT_UNARY) {
    f.local.get(args[0]);
    INT_UNARY[name](f);
  } else if (ints && name in INT_BINARY) {
    f.local.get(args[0]).local.get(args[1]);
    INT_BINARY[name](f);
  } else if (ints && name in INT_COMPARE) {
    f.local.get(args[0]).local.get(args[1]);
    INT_COMPARE[name](f);
  } else if (UNARY.has(name)) {
    if (name === "abs") f.local.get(args[0]).f32x4.abs();
    else if (name === "sqrt") f.local.get(args[0]).f32x4.sqrt();
    else {
      // emitUnary clobbers its input local: work on a copy.
      f.local.get(args[0]).local.set(temps.x);
      emitUnary(f, name, temps);
    }
  } else if (name in BINARY) {
    f.local.get(args[0]).local.get(args[1]);
    BINARY[name](f);
  } else if (name in COMPARE) {
    f.local.get(args[0]).local.get(args[1]);
    COMPARE[name](f);
  } else if (name === "select") {
    // select(cond, a, b) = cond ? a : b; bitselect takes (v1, v2, mask) → mask ? v1 : v2
    f.local.get(args[1]).local.get(args[2]).local.get(args[0]).v128.bitselect();
  } else if (name === "convert" && params.dtype === "float32") {
    f.local.get(args[0]);
    f32c(f, 1).v128.and();
  } else if (name === "convert" && params.dtype === "int32") {
    f.local.get(args[0]);
    i32c(f, 1).v128.and();
  } else {
    throw new Error(`internal: "${name}" cannot be fused on wasm`);
  }
}
