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
import { dtypeOfArray, type TypedArray } from "../../core/dtype.ts";
import { sizeOf, stridesOf } from "../../core/shape.ts";
import { CpuBuffer, forEachRow } from "../cpu/mod.ts";
import { f32c, vectorLoop } from "./_elementwise_module.ts";
import type { FunctionBuilder, Local } from "./_emitter.ts";
import {
  byteWidth,
  chainEmitter,
  type FusedKernel,
  layouts,
  type RowFn,
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
  const extraStrides = stridesOf(shape).slice(0, outerShape.length);
  const prepare = layouts(
    spec.inputs.map((a) => a.dtype),
    modeAlong(shape, outerShape.length),
    (modes, heap) => instantiate(spec, modes, heap),
  );
  return (inputs, heap) => {
    const xs = extras.map((j) => heap.array(spec.ops[j].out.dtype, sizeOf(shape), false));
    const out = heap.array("float32", sizeOf(outerShape), false);
    const { views, fn } = prepare(inputs, heap);
    overRows(
      fn,
      outerShape,
      [
        ...views.map((v) => operand(heap, v, v.strides.slice(0, outerShape.length))),
        ...xs.map((x) => operand(heap, x, extraStrides)),
        { base: out.byteOffset, width: 4, strides: stridesOf(outerShape), offset: 0 },
      ],
      4 * (k + 3 & ~3),
      [4 * k],
    );
    return [...xs.map((x) => new CpuBuffer(x, shape)), new CpuBuffer(out, outerShape)];
  };
}

// How an input is read along the trailing dims from `d0`, which a row function's vector loop
// walks: dense ("v"), one broadcast value ("s"), or, for any other view, packed first ("").
function modeAlong(shape: readonly number[], d0: number): (x: CpuBuffer) => string {
  const dense = stridesOf(shape);
  return (x) => {
    let broadcast = true, rowMajor = true;
    for (let d = d0; d < shape.length; d++) {
      if (shape[d] === 1) continue;
      if (x.strides[d] !== 0) broadcast = false;
      if (x.strides[d] !== dense[d]) rowMajor = false;
    }
    return broadcast ? "s" : rowMajor ? "v" : "";
  };
}

// Where a pointer of a row function starts (`base` + `width`·`offset` bytes) and how it moves
// along the walked dimensions (`strides`, in elements of `width` bytes).
interface Pointer {
  base: number;
  width: number;
  strides: readonly number[];
  offset: number;
}

// A pointer to a heap view (or a whole heap array) moving by `strides`.
function operand(heap: HeapStorage, x: CpuBuffer | TypedArray, strides: readonly number[]) {
  const view = x instanceof CpuBuffer ? x : null;
  const data = view?.data ?? (x as TypedArray);
  const width = byteWidth(dtypeOfArray(data));
  return { base: heap.address(data)!, width, strides, offset: view?.offset ?? 0 };
}

// Calls the row function `fn` over the rows of `shape` (merged as `forEachRow` merges them),
// each call with its pointers, `bytes` of whole vectors per row, the row count, each pointer's
// step per row, then `extras`.
function overRows(
  fn: RowFn,
  shape: readonly number[],
  pointers: readonly Pointer[],
  bytes: number,
  extras: readonly number[],
): void {
  const n = pointers.length;
  const args = new Array<number>(2 * n + 2 + extras.length);
  args[n] = bytes;
  extras.forEach((e, j) => (args[2 * n + 2 + j] = e));
  const strides = pointers.map((p) => p.strides), offsets = pointers.map((p) => p.offset);
  forEachRow(shape, strides, offsets, (offs, rows, steps) => {
    for (let i = 0; i < n; i++) {
      args[i] = pointers[i].base + pointers[i].width * offs[i];
      args[n + 2 + i] = pointers[i].width * steps[i];
    }
    args[n + 1] = rows;
    fn(...args);
  });
}

// A reduction over the leading `reduced` axes: the rows of the reduced run combine, vector by
// vector, into an accumulator row (float64 pairs for a sum; the output itself otherwise).
function columnKernel(spec: FusedSpec, shape: readonly number[], reduced: number): FusedKernel {
  const root = spec.ops[spec.ops.length - 1];
  const runShape = shape.slice(0, reduced), keptShape = shape.slice(reduced);
  const inner = sizeOf(keptShape);
  const sum = root.name === "reduceSum";
  const extras = spec.outputs.slice(0, -1);
  const dense = stridesOf(shape);
  const prepare = layouts(
    spec.inputs.map((a) => a.dtype),
    modeAlong(shape, reduced),
    (modes, heap) => instantiateColumns(spec, modes, heap),
  );
  return (inputs, heap) => {
    const xs = extras.map((j) => heap.array(spec.ops[j].out.dtype, sizeOf(shape), false));
    const out = heap.array("float32", inner, false);
    // A sum's accumulator: one float64 per lane of the rounded-up row.
    const acc = sum ? heap.array("float32", 2 * (inner + 3 & ~3)) : out;
    if (!sum) out.fill(IDENTITY[root.name]);
    const { views, fn } = prepare(inputs, heap);
    overRows(
      fn,
      runShape,
      [
        ...views.map((v) => operand(heap, v, v.strides.slice(0, reduced))),
        ...xs.map((x) => operand(heap, x, dense.slice(0, reduced))),
        { base: acc.byteOffset, width: 0, strides: runShape.map(() => 0), offset: 0 },
      ],
      4 * (inner + 3 & ~3),
      [],
    );
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
): RowFn {
  const nIn = spec.inputs.length;
  const root = spec.ops[spec.ops.length - 1];
  const extras = spec.outputs.slice(0, -1);
  const acc = nIn + extras.length;
  return rowModule(heap, acc + 1, 0, (f, { pointer, bytes }) => {
    const at = f.addLocal("i32");
    reductionRow(f, spec, modes, pointer, bytes, (p, value) => {
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

// Emits one row of a reduction's chain: the chain on each vector of the row, its extra outputs
// stored, and `combine(p, value)` for the vector at byte `p` of the reduction's operand.
function reductionRow(
  f: FunctionBuilder,
  spec: FusedSpec,
  modes: string,
  pointer: (k: number) => Local,
  bytes: Local,
  combine: (p: Local, value: Local) => void,
): void {
  const nIn = spec.inputs.length;
  const root = spec.ops[spec.ops.length - 1];
  const chain = chainEmitter(f, spec, modes, pointer, spec.ops.length - 1);
  chain.loadScalars();
  vectorLoop(f, bytes, (p) => {
    chain.compute(p);
    spec.outputs.slice(0, -1).forEach((k, j) => {
      storeOutput(f, pointer(nIn + j), p, spec.ops[k].out.dtype, chain.values[nIn + k]);
    });
    combine(p, chain.values[root.args[0]]);
  });
}

// One Wasm function over rows: the chain on each row's vectors, its extra outputs written, and
// the reduction's value stored as one float32 per row. Its extra parameter is the row's length
// in bytes, past which lanes are masked.
function instantiate(
  spec: FusedSpec,
  modes: string,
  heap: HeapStorage,
): RowFn {
  const nIn = spec.inputs.length;
  const root = spec.ops[spec.ops.length - 1];
  const extras = spec.outputs.slice(0, -1);
  const identity = IDENTITY[root.name];
  return rowModule(heap, nIn + extras.length + 1, 1, (f, { pointer, bytes, extra }) => {
    const acc = [f.addLocal("v128"), f.addLocal("v128")];
    const live = f.addLocal("v128");
    for (const a of acc) f32c(f, identity).local.set(a);
    reductionRow(f, spec, modes, pointer, bytes, (p, value) => {
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
