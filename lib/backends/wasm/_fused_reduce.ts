/**
 * Fused reductions: an elementwise chain (see `_fused.ts`) ending in a sum, maximum or minimum
 * over trailing or leading axes becomes one generated Wasm SIMD loop that reduces the chain's
 * values as it computes them, so the values are never written unless the program uses them
 * elsewhere (those the kernel writes too). A softmax cross-entropy's masked sum over the
 * classes, a sum of squares or a bias gradient (a sum over the batch) costs one pass.
 *
 * Over trailing axes each row reduces in registers, its last vector masked to the reduction's
 * identity past the row's end. Over leading axes the rows combine, vector by vector, into an
 * accumulator row. Sums accumulate in float64 and round once, and the maximum and minimum let
 * NaN win, as the eager reduction kernels do.
 *
 * @example
 * ```ts
 * import { fusedReductionKernel } from "./_fused_reduce.ts";
 * import { HeapStorage } from "./_storage.ts";
 * import { WasmContext } from "./_context.ts";
 * import { CpuBuffer } from "../cpu/mod.ts";
 * import assert from "node:assert/strict";
 * const heap = new HeapStorage(new WasmContext({ threads: 1 }));
 * const x = { shape: [2, 3], dtype: "float32", device: "wasm" } as const;
 * const rows = { shape: [2], dtype: "float32", device: "wasm" } as const;
 * // the sum of squares of each row
 * const kernel = fusedReductionKernel({
 *   inputs: [x],
 *   ops: [
 *     { name: "mul", params: {}, args: [0, 0], out: x },
 *     { name: "reduceSum", params: { axes: [1] }, args: [1], out: rows },
 *   ],
 *   outputs: [1],
 * });
 * const [sums] = kernel([new CpuBuffer(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3])], heap);
 * assert.deepEqual([...sums.data], [14, 77]);
 * ```
 *
 * @module
 */

import type { Aval, FusedSpec, Params } from "../../core/backend.ts";
import { sizeOf, stridesOf } from "../../core/shape.ts";
import { CpuBuffer, forEachRow } from "../cpu/mod.ts";
import { f32c, vectorLoop } from "./_elementwise_module.ts";
import type { FunctionBuilder, Local } from "./_emitter.ts";
import {
  chainEmitter,
  copyInHeap,
  type FusedKernel,
  packInHeap,
  rowModule,
  storeOutput,
} from "./_fused.ts";
import type { HeapStorage } from "./_storage.ts";

const IDENTITY: Record<string, number> = {
  reduceSum: 0,
  reduceMax: -Infinity,
  reduceMin: Infinity,
};

// Byte lanes of i8x16.shuffle: the high half moved low, and the pairs of lanes swapped.
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
const SWAP_PAIRS = [4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11];

/**
 * Whether the wasm device ends a fused chain with reduction `name` of `arg`: a float32 sum,
 * maximum or minimum over a non-empty run of trailing or of leading axes.
 *
 * @example
 * ```ts
 * import { fusibleReductionOnWasm } from "./_fused_reduce.ts";
 * import assert from "node:assert/strict";
 * const x = { shape: [4, 3], dtype: "float32", device: "wasm" } as const;
 * const rows = { shape: [4], dtype: "float32", device: "wasm" } as const;
 * assert.ok(fusibleReductionOnWasm("reduceSum", x, rows, { axes: [1] }));
 * assert.ok(fusibleReductionOnWasm("reduceSum", x, { ...rows, shape: [3] }, { axes: [0] }));
 * const cube = { shape: [2, 3, 4], dtype: "float32", device: "wasm" } as const;
 * assert.ok(!fusibleReductionOnWasm("reduceMax", cube, { ...cube, shape: [2, 4] }, { axes: [1] }));
 * ```
 */
export function fusibleReductionOnWasm(
  name: string,
  arg: Aval,
  out: Aval,
  params: Params,
): boolean {
  if (!(name in IDENTITY) || arg.dtype !== "float32" || out.dtype !== "float32") return false;
  const axes = params.axes as readonly number[];
  const rank = arg.shape.length;
  const trailing = axes.every((a, i) => a === rank - axes.length + i);
  const leading = axes.every((a, i) => a === i);
  const k = sizeOf(arg.shape.filter((_, d) => axes.includes(d)));
  return axes.length > 0 && (trailing || leading) && k > 0;
}

/**
 * Compiles a chain ending in a reduction over trailing or leading axes into a kernel over heap
 * views.
 */
export function fusedReductionKernel(spec: FusedSpec): FusedKernel {
  const root = spec.ops[spec.ops.length - 1];
  const shape = spec.ops[root.args[0] - spec.inputs.length].out.shape;
  const axes = root.params.axes as readonly number[];
  if (axes[axes.length - 1] !== shape.length - 1) return columnKernel(spec, shape, axes.length);
  const reduced = axes.length;
  const outerShape = shape.slice(0, shape.length - reduced);
  const k = sizeOf(shape.slice(shape.length - reduced));
  const extras = spec.outputs.slice(0, -1);
  const dtypes = spec.inputs.map((a) => a.dtype);
  const width = (d: string) => (d === "bool" ? 1 : 4);
  const extraStrides = stridesOf(shape).slice(0, outerShape.length);
  const rootStrides = stridesOf(outerShape);
  // Along the reduced run each input is dense ("v"), one broadcast value per row ("s"), or
  // packed to dense first.
  const denseRun = stridesOf(shape).slice(outerShape.length);
  const modeOf = (x: CpuBuffer) => {
    const run = x.strides.slice(outerShape.length);
    const live = (s: number, d: number) => shape[outerShape.length + d] === 1 || s === 0;
    if (run.every(live)) return "s";
    return run.every((s, d) => shape[outerShape.length + d] === 1 || s === denseRun[d]) ? "v" : "";
  };
  const byModes = new Map<string, (...args: number[]) => void>();
  let modulesHeap: HeapStorage | null = null;
  return (inputs, heap) => {
    if (heap !== modulesHeap) {
      byModes.clear();
      modulesHeap = heap;
    }
    const xs = extras.map((j) => heap.array(spec.ops[j].out.dtype, sizeOf(shape), false));
    const out = heap.array("float32", sizeOf(outerShape), false);
    const views = inputs.map((x, i) => {
      if (modeOf(x) === "") return packInHeap(heap, x, dtypes[i]);
      return heap.address(x.data) === undefined ? copyInHeap(heap, x, dtypes[i]) : x;
    });
    const modes = views.map(modeOf).join("");
    let fn = byModes.get(modes);
    if (fn === undefined) byModes.set(modes, fn = instantiate(spec, modes, heap));
    const n = views.length, m = xs.length;
    const widths = [...dtypes.map(width), ...extras.map((j) => width(spec.ops[j].out.dtype)), 4];
    const bases = [
      ...views.map((v) => heap.address(v.data)!),
      ...xs.map((x) => x.byteOffset),
      out.byteOffset,
    ];
    const strides = [
      ...views.map((v) => v.strides.slice(0, outerShape.length)),
      ...xs.map(() => extraStrides),
      rootStrides,
    ];
    const offsets = [...views.map((v) => v.offset), ...xs.map(() => 0), 0];
    const pointers = n + m + 1;
    const args = new Array<number>(2 * pointers + 3);
    args[pointers] = 4 * (k + 3 & ~3);
    args[2 * pointers + 2] = 4 * k;
    forEachRow(outerShape, strides, offsets, (offs, rows, steps) => {
      for (let i = 0; i < pointers; i++) {
        args[i] = bases[i] + widths[i] * offs[i];
        args[pointers + 2 + i] = widths[i] * steps[i];
      }
      args[pointers + 1] = rows;
      fn(...args);
    });
    return [
      ...xs.map((x) => new CpuBuffer(x, shape)),
      new CpuBuffer(out, outerShape),
    ];
  };
}

// A reduction over the leading `reduced` axes: the rows of the reduced run combine, vector by
// vector, into an accumulator row (float64 pairs for a sum; the output itself otherwise).
function columnKernel(spec: FusedSpec, shape: readonly number[], reduced: number): FusedKernel {
  const root = spec.ops[spec.ops.length - 1];
  const runShape = shape.slice(0, reduced), keptShape = shape.slice(reduced);
  const inner = sizeOf(keptShape);
  const sum = root.name === "reduceSum";
  const extras = spec.outputs.slice(0, -1);
  const dtypes = spec.inputs.map((a) => a.dtype);
  const width = (d: string) => (d === "bool" ? 1 : 4);
  const dense = stridesOf(shape);
  // Along the kept dims each input is dense ("v"), one value per row ("s"), or packed first.
  const modeOf = (x: CpuBuffer) => {
    const kept = x.strides.slice(reduced);
    const one = (d: number) => keptShape[d] === 1;
    if (kept.every((s, d) => one(d) || s === 0)) return "s";
    return kept.every((s, d) => one(d) || s === dense[reduced + d]) ? "v" : "";
  };
  const byModes = new Map<string, (...args: number[]) => void>();
  let modulesHeap: HeapStorage | null = null;
  return (inputs, heap) => {
    if (heap !== modulesHeap) {
      byModes.clear();
      modulesHeap = heap;
    }
    const xs = extras.map((j) => heap.array(spec.ops[j].out.dtype, sizeOf(shape), false));
    const out = heap.array("float32", inner, false);
    // A sum's accumulator: one float64 per lane of the rounded-up row.
    const acc = sum ? heap.array("float32", 2 * (inner + 3 & ~3)) : out;
    if (!sum) out.fill(IDENTITY[root.name]);
    const views = inputs.map((x, i) => {
      if (modeOf(x) === "") return packInHeap(heap, x, dtypes[i]);
      return heap.address(x.data) === undefined ? copyInHeap(heap, x, dtypes[i]) : x;
    });
    const modes = views.map(modeOf).join("");
    let fn = byModes.get(modes);
    if (fn === undefined) byModes.set(modes, fn = instantiateColumns(spec, modes, heap));
    const n = views.length, m = xs.length;
    const widths = [...dtypes.map(width), ...extras.map((j) => width(spec.ops[j].out.dtype)), 0];
    const bases = [
      ...views.map((v) => heap.address(v.data)!),
      ...xs.map((x) => x.byteOffset),
      acc.byteOffset,
    ];
    const strides = [
      ...views.map((v) => v.strides.slice(0, reduced)),
      ...xs.map(() => dense.slice(0, reduced)),
      runShape.map(() => 0),
    ];
    const offsets = [...views.map((v) => v.offset), ...xs.map(() => 0), 0];
    const pointers = n + m + 1;
    const args = new Array<number>(2 * pointers + 2);
    args[pointers] = 4 * (inner + 3 & ~3);
    forEachRow(runShape, strides, offsets, (offs, rows, steps) => {
      for (let i = 0; i < pointers; i++) {
        args[i] = bases[i] + widths[i] * offs[i];
        args[pointers + 2 + i] = widths[i] * steps[i];
      }
      args[pointers + 1] = rows;
      fn(...args);
    });
    if (sum) {
      const f64 = new Float64Array(acc.buffer, acc.byteOffset, inner);
      for (let j = 0; j < inner; j++) out[j] = f64[j];
    }
    return [...xs.map((x) => new CpuBuffer(x, shape)), new CpuBuffer(out, keptShape)];
  };
}

// One Wasm function over the rows of a leading-axes reduction: the chain on each row's
// vectors, its extra outputs written, and each vector combined into the accumulator row (its
// last pointer, which stays put).
function instantiateColumns(
  spec: FusedSpec,
  modes: string,
  heap: HeapStorage,
): (...args: number[]) => void {
  const nIn = spec.inputs.length;
  const root = spec.ops[spec.ops.length - 1];
  const extras = spec.outputs.slice(0, -1);
  const acc = nIn + extras.length;
  return rowModule(heap, acc + 1, 0, (f, { pointer, bytes }) => {
    const chain = chainEmitter(f, spec, modes, pointer, spec.ops.length - 1);
    const value = chain.values[root.args[0]];
    const at = f.addLocal("i32");
    chain.loadScalars();
    vectorLoop(f, bytes, (p) => {
      chain.compute(p);
      extras.forEach((k, j) => {
        storeOutput(f, pointer(nIn + j), p, spec.ops[k].out.dtype, chain.values[nIn + k]);
      });
      if (root.name === "reduceSum") {
        // acc[2p..2p+32) += the vector's lanes as float64 pairs
        f.local.get(pointer(acc)).local.get(p).i32.const(1).i32.shl().i32.add().local.set(at);
        f.local.get(at).local.get(at).v128.load();
        f.local.get(value).f64x2.promote_low_f32x4().f64x2.add().v128.store();
        f.local.get(at).local.get(at).v128.load(16);
        f.local.get(value).local.get(value).i8x16.shuffle(HIGH_HALF);
        f.f64x2.promote_low_f32x4().f64x2.add().v128.store(16);
      } else {
        f.local.get(pointer(acc)).local.get(p).i32.add().local.tee(at);
        f.local.get(at).v128.load().local.get(value);
        if (root.name === "reduceMax") f.f32x4.max();
        else f.f32x4.min();
        f.v128.store();
      }
    });
  });
}

// One Wasm function over rows: the chain on each row's vectors, its extra outputs written, and
// the reduction's value stored as one float32 per row. Its extra parameter is the row's length
// in bytes, past which lanes are masked.
function instantiate(
  spec: FusedSpec,
  modes: string,
  heap: HeapStorage,
): (...args: number[]) => void {
  const nIn = spec.inputs.length;
  const root = spec.ops[spec.ops.length - 1];
  const extras = spec.outputs.slice(0, -1);
  const identity = IDENTITY[root.name];
  return rowModule(heap, nIn + extras.length + 1, 1, (f, { pointer, bytes, extra }) => {
    const chain = chainEmitter(f, spec, modes, pointer, spec.ops.length - 1);
    const value = chain.values[root.args[0]];
    const acc = [f.addLocal("v128"), f.addLocal("v128")];
    const live = f.addLocal("v128");
    for (const a of acc) f32c(f, identity).local.set(a);
    chain.loadScalars();
    vectorLoop(f, bytes, (p) => {
      chain.compute(p);
      extras.forEach((k, j) => {
        storeOutput(f, pointer(nIn + j), p, spec.ops[k].out.dtype, chain.values[nIn + k]);
      });
      // Lanes at byte p + 4i past the row's end hold the identity.
      f.local.get(p).i32x4.splat().v128.const(LANE_BYTES).i32x4.add();
      f.local.get(extra(0)).i32x4.splat().i32x4.lt_s().local.set(live);
      f.local.get(value);
      f32c(f, identity).local.get(live).v128.bitselect().local.set(value);
      accumulate(f, root.name, acc, value);
    });
    f.local.get(pointer(nIn + extras.length));
    finish(f, root.name, acc);
    f.f32.store();
  });
}

const LANE_BYTES = new Uint8Array(new Int32Array([0, 4, 8, 12]).buffer);

// acc (op)= v: a sum in two float64x2 halves, a maximum or minimum in float32 lanes.
function accumulate(f: FunctionBuilder, op: string, acc: Local[], v: Local): void {
  if (op === "reduceSum") {
    f.local.get(acc[0]).local.get(v).f64x2.promote_low_f32x4().f64x2.add().local.set(acc[0]);
    f.local.get(acc[1]).local.get(v).local.get(v).i8x16.shuffle(HIGH_HALF);
    f.f64x2.promote_low_f32x4().f64x2.add().local.set(acc[1]);
  } else {
    f.local.get(acc[0]).local.get(v);
    if (op === "reduceMax") f.f32x4.max();
    else f.f32x4.min();
    f.local.set(acc[0]);
  }
}

// Leaves the reduction of the accumulators' lanes on the stack as a float32.
function finish(f: FunctionBuilder, op: string, acc: Local[]): void {
  if (op === "reduceSum") {
    f.local.get(acc[0]).local.get(acc[1]).f64x2.add().local.tee(acc[0]).f64x2.extract_lane(0);
    f.local.get(acc[0]).f64x2.extract_lane(1).f64.add().f32.demote_f64();
    return;
  }
  const [a] = acc;
  const combine = () => (op === "reduceMax" ? f.f32x4.max() : f.f32x4.min());
  f.local.get(a).local.get(a).local.get(a).i8x16.shuffle(HIGH_HALF);
  combine();
  f.local.tee(a).local.get(a).local.get(a).i8x16.shuffle(SWAP_PAIRS);
  combine();
  f.f32x4.extract_lane(0);
}
