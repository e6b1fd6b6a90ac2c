/**
 * The wasm device's own kernels: float32 work handed to the SIMD modules straight from the
 * heap, without staging copies. Each kernel may decline (return `undefined`) for a case it does
 * not cover (another dtype, a strided layout it cannot address, a size too small to pay for the
 * call), and the device then runs the reference CPU kernel on the same heap views.
 *
 * @module
 */

import type { Aval, Params } from "../../core/backend.ts";
import { stridesOf } from "../../core/shape.ts";
import { binaryFloatRow, CpuBuffer, forEachRow, pack, prod, unaryFloatRow } from "../cpu/mod.ts";
import { concatKernel } from "./_copy.ts";
import { elementwiseKernels } from "./_elementwise.ts";
import { WASM_BINARY, WASM_UNARY } from "./_elementwise_module.ts";
import { reduceKernels } from "./_reduce.ts";
import type { HeapStorage } from "./_storage.ts";

/** A kernel on heap views; `undefined` leaves the case to the reference kernel. */
export type FastKernel = (
  inputs: readonly CpuBuffer[],
  params: Params,
  out: Aval,
  heap: HeapStorage,
) => CpuBuffer | undefined;

/**
 * Below these sizes the reference loops win: a Wasm call, the row walk and (under 16 KiB, where
 * tensors are ordinary arrays) staging operands in and out cost about as much as the work.
 * Tunable for tests and measurements (`Infinity` turns a path off).
 */
export const fastKernelConfig: {
  minMatmulWork: number;
  minUnary: number;
  minBinary: number;
  minReduce: number;
  minRow: number;
} = {
  /** Multiply-adds (m·n·k·batch) below which matmul runs the reference kernel. */
  minMatmulWork: 4096,
  /** Elements below which unary ops run the reference kernel. */
  minUnary: 256,
  /** Elements below which binary ops run the reference kernel. */
  minBinary: 4096,
  /** Input elements below which reductions, softmax and scatter-add run the reference kernel. */
  minReduce: 1024,
  /** Rows shorter than this are done by the reference row loop inside a SIMD kernel. */
  minRow: 8,
};

// The view itself when its storage is in the heap, else the same view of a copy of its storage
// in a scratch block (swept after the kernel). Only small arrays live outside the heap, and a
// broadcast of one stays a broadcast: what is copied is the storage, not the view.
function heapView(heap: HeapStorage, x: CpuBuffer): CpuBuffer {
  if (heap.address(x.data) !== undefined) return x;
  const copy = heap.array("float32", x.data.length, false);
  copy.set(x.data);
  return new CpuBuffer(copy, x.shape, x.strides, x.offset);
}

// Whether the SIMD kernel pays for work of `size` elements (or multiply-adds) below `min`:
// only where no operand must be staged into the heap first (inside a compiled program).
function worthIt(
  heap: HeapStorage,
  inputs: readonly CpuBuffer[],
  size: number,
  min: number,
): boolean {
  return size >= min || inputs.every((x) => heap.address(x.data) !== undefined);
}

function addressOf(heap: HeapStorage, x: CpuBuffer): number {
  return heap.address(x.data)! + 4 * x.offset;
}

const matmul: FastKernel = (inputs, _params, out, heap) => {
  const ra = inputs[0].shape.length, rb = inputs[1].shape.length;
  const m = inputs[0].shape[ra - 2], k = inputs[0].shape[ra - 1], n = inputs[1].shape[rb - 1];
  const size = prod(out.shape);
  if (out.dtype !== "float32") return;
  if (!worthIt(heap, inputs, size * k, fastKernelConfig.minMatmulWork)) return;
  const a = heapView(heap, inputs[0]), b = heapView(heap, inputs[1]);
  const c = heap.array("float32", size, false);
  if (size === 0) return new CpuBuffer(c, out.shape);
  const ctx = heap.ctx;
  const A = heap.address(a.data)!, B = heap.address(b.data)!, C = c.byteOffset;
  const rsa = a.strides[ra - 2], csa = a.strides[ra - 1];
  const rsb = b.strides[rb - 2], csb = b.strides[rb - 1];
  const batchShape = out.shape.slice(0, -2);
  const strides = [
    a.strides.slice(0, ra - 2),
    b.strides.slice(0, rb - 2),
    stridesOf(batchShape).map((s) => s * m * n),
  ];
  // Batch dimensions that merge into one stride per operand become one batched gemm call.
  forEachRow(batchShape, strides, [a.offset, b.offset, 0], (offs, batch, steps) => {
    ctx.gemm({
      a: A + 4 * offs[0],
      b: B + 4 * offs[1],
      c: C + 4 * offs[2],
      m,
      n,
      k,
      rsa,
      csa,
      rsb,
      csb,
      batch,
      strideA: steps[0],
      strideB: steps[1],
      strideC: steps[2],
    });
  });
  return new CpuBuffer(c, out.shape);
};

function unary(op: string): FastKernel {
  return (inputs, _params, out, heap) => {
    const x = inputs[0];
    if (out.dtype !== "float32" || !worthIt(heap, inputs, x.size, fastKernelConfig.minUnary)) {
      return;
    }
    const xv = heapView(heap, x);
    const o = heap.array("float32", x.size, false);
    const k = elementwiseKernels(heap.ctx);
    const X = heap.address(xv.data)!, O = o.byteOffset;
    const xd = xv.data, minRow = fastKernelConfig.minRow;
    // Output rows are visited in order, so a row's vector overrun into the next is rewritten.
    forEachRow(x.shape, [xv.strides, stridesOf(x.shape)], [xv.offset, 0], (offs, n, steps) => {
      if (steps[0] === 1 && n >= minRow) k.unary(op, X + 4 * offs[0], O + 4 * offs[1], n);
      else unaryFloatRow(op, xd, offs[0], steps[0], o, offs[1], n);
    });
    return new CpuBuffer(o, out.shape);
  };
}

function binary(op: string): FastKernel {
  return (inputs, _params, out, heap) => {
    if (out.dtype !== "float32") return;
    if (!worthIt(heap, inputs, inputs[0].size, fastKernelConfig.minBinary)) return;
    const a = heapView(heap, inputs[0]), b = heapView(heap, inputs[1]);
    const o = heap.array("float32", a.size, false);
    const k = elementwiseKernels(heap.ctx);
    const A = heap.address(a.data)!, B = heap.address(b.data)!, O = o.byteOffset;
    const ad = a.data, bd = b.data, minRow = fastKernelConfig.minRow;
    const strides = [a.strides, b.strides, stridesOf(a.shape)];
    forEachRow(a.shape, strides, [a.offset, b.offset, 0], (offs, n, steps) => {
      const [sa, sb] = steps;
      const mode = sa === 1
        ? (sb === 1 ? "vv" : sb === 0 ? "vs" : "")
        : sa === 0 && sb === 1
        ? "sv"
        : "";
      if (mode !== "" && n >= minRow) {
        k.binary(op, A + 4 * offs[0], B + 4 * offs[1], O + 4 * offs[2], n, mode);
      } else {
        binaryFloatRow(op, ad, offs[0], sa, bd, offs[1], sb, o, offs[2], n);
      }
    });
    return new CpuBuffer(o, out.shape);
  };
}

const REDUCE_OPS: Record<string, "sum" | "max" | "min"> = {
  reduceSum: "sum",
  reduceMax: "max",
  reduceMin: "min",
};

// A reduction over one run of neighbouring axes of a dense view is [outer, k, inner] → [outer,
// inner]; anything else goes to the reference kernel.
function reduce(name: string): FastKernel {
  const op = REDUCE_OPS[name];
  return (inputs, params, out, heap) => {
    const x = inputs[0];
    const axes = params.axes as readonly number[];
    if (out.dtype !== "float32" || !x.contiguous || axes.length === 0) return;
    if (!worthIt(heap, inputs, x.size, fastKernelConfig.minReduce)) return;
    const first = axes[0], last = axes[axes.length - 1];
    if (last - first !== axes.length - 1) return;
    const xv = heapView(heap, x);
    const o = heap.array("float32", prod(out.shape), false);
    const outer = prod(x.shape, 0, first);
    const inner = prod(x.shape, last + 1);
    reduceKernels(heap.ctx).reduce(
      op,
      addressOf(heap, xv),
      o.byteOffset,
      outer,
      prod(x.shape, first, last + 1),
      inner,
    );
    return new CpuBuffer(o, out.shape);
  };
}

function softmax(log: boolean): FastKernel {
  return (inputs, params, out, heap) => {
    const x = inputs[0];
    const axis = params.axis as number;
    if (out.dtype !== "float32" || !x.contiguous || axis !== x.shape.length - 1) return;
    if (!worthIt(heap, inputs, x.size, fastKernelConfig.minReduce)) return;
    const xv = heapView(heap, x);
    const o = heap.array("float32", x.size, false);
    const n = x.shape[axis];
    const rows = n === 0 ? 0 : x.size / n;
    const kernels = reduceKernels(heap.ctx);
    (log ? kernels.logSoftmax : kernels.softmax).call(
      kernels,
      addressOf(heap, xv),
      o.byteOffset,
      rows,
      n,
    );
    return new CpuBuffer(o, out.shape);
  };
}

// scatterAdd of float32 rows when every index is in range (dropped indices are left to the
// reference kernel).
const scatterAdd: FastKernel = (inputs, params, out, heap) => {
  const [u, idxBuf] = inputs;
  if (out.dtype !== "float32" || u.size < fastKernelConfig.minReduce) return;
  const axis = params.axis as number;
  const size = params.size as number;
  const count = idxBuf.size;
  const idx = heap.array("int32", count, false);
  const ids = idxBuf.contiguous ? idxBuf.data : pack(idxBuf);
  for (let i = 0, at = idxBuf.contiguous ? idxBuf.offset : 0; i < count; i++, at++) {
    let j = ids[at];
    if (j < 0) j += size;
    if (!(j >= 0 && j < size)) return;
    idx[i] = j;
  }
  // A strided update (an embedding's gradient, time-major, read batch-major) is packed once:
  // the kernel walks dense rows.
  const uv = u.contiguous
    ? heapView(heap, u)
    : new CpuBuffer(pack(u, "float32", (d, n) => heap.array(d, n, false)), u.shape);
  const outer = prod(u.shape, 0, axis);
  const inner = prod(u.shape, axis + idxBuf.shape.length);
  const o = heap.array("float32", outer * size * inner);
  const kernels = reduceKernels(heap.ctx);
  const U = addressOf(heap, uv);
  for (let p = 0; p < outer; p++) {
    kernels.scatterAddRows(
      o.byteOffset + 4 * p * size * inner,
      U + 4 * p * count * inner,
      idx.byteOffset,
      count,
      inner,
      size,
    );
  }
  return new CpuBuffer(o, out.shape);
};

const table = new Map<string, FastKernel>([
  ["matmul", matmul],
  ["softmax", softmax(false)],
  ["logSoftmax", softmax(true)],
  ["scatterAdd", scatterAdd],
  ["concat", concatKernel],
]);
for (const op of WASM_UNARY) table.set(op, unary(op));
for (const op of WASM_BINARY) table.set(op, binary(op));
for (const name of Object.keys(REDUCE_OPS)) table.set(name, reduce(name));

/**
 * The wasm device's SIMD kernels by primitive name.
 *
 * @example
 * ```ts
 * import { fastKernels } from "./_kernels.ts";
 * import { HeapStorage } from "./_storage.ts";
 * import { WasmContext } from "./_context.ts";
 * import { CpuBuffer } from "../cpu/mod.ts";
 * import assert from "node:assert/strict";
 * const heap = new HeapStorage(new WasmContext({ threads: 1 }));
 * const data = heap.array("float32", 1000);
 * data.fill(1);
 * const x = new CpuBuffer(data, [1000]);
 * const out = { shape: [1000], dtype: "float32", device: "wasm" } as const;
 * const y = fastKernels.get("exp")!([x], {}, out, heap)!;
 * assert.equal(y.data[999], Math.fround(Math.E));
 * ```
 */
export const fastKernels: ReadonlyMap<string, FastKernel> = table;
