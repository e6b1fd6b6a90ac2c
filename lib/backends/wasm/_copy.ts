/**
 * Copies of 4-byte elements between views in the heap: the concatenation kernel of the wasm
 * device. Rows are copied a vector at a time and then element by element, never past their
 * end (a concatenation's operands sit side by side in each row of the result), and large
 * copies are shared among the context's threads.
 *
 * @example
 * ```ts
 * import { concatKernel } from "./_copy.ts";
 * import { HeapStorage } from "./_storage.ts";
 * import { WasmContext } from "./_context.ts";
 * import { CpuBuffer } from "../cpu/mod.ts";
 * import assert from "node:assert/strict";
 * const heap = new HeapStorage(new WasmContext({ threads: 1 }));
 * const inHeap = (values: number[], shape: number[]) => {
 *   const data = heap.array("float32", values.length);
 *   data.set(values);
 *   return new CpuBuffer(data, shape);
 * };
 * const a = inHeap([1, 2, 3, 4, 5, 6], [2, 3]), b = inHeap([7, 8], [2, 1]);
 * const out = { shape: [2, 4], dtype: "float32", device: "wasm" } as const;
 * const y = concatKernel([a, b], { axis: 1 }, out, heap)!;
 * assert.deepEqual([...y.data.subarray(0, 8)], [1, 2, 3, 7, 4, 5, 6, 8]);
 * ```
 *
 * @module
 */

import type { Aval, Params } from "../../core/backend.ts";
import { stridesOf } from "../../core/shape.ts";
import { copyInto, CpuBuffer, forEachBlock, prod } from "../cpu/mod.ts";
import { type RowKernel, rowKernel } from "./_fused.ts";
import type { HeapStorage } from "./_storage.ts";

// Copies of at least this many elements are split across threads: a copy is bound by memory,
// and two threads move an LSTM step's [128, 1024] (2¹⁷ elements) into a stack a third sooner.
const PARALLEL = 1 << 16;

const kernels = new WeakMap<HeapStorage, RowKernel>();

// copy(src, dst, bytes, rows, srcStep, dstStep): `rows` rows of `bytes` bytes (a multiple of
// 4), vectors first, then the last elements one by one.
function copyRows(heap: HeapStorage): RowKernel {
  let kernel = kernels.get(heap);
  if (kernel === undefined) {
    kernel = rowKernel(heap, 2, 0, (f, { pointer, bytes }) => {
      const [src, dst] = [pointer(0), pointer(1)];
      const p = f.addLocal("i32");
      f.i32.const(0).local.set(p);
      const loop = (width: number) => {
        f.block((exit) => {
          f.loop((top) => {
            f.local.get(p).i32.const(width).i32.add().local.get(bytes).i32.gt_u().brIf(exit);
            f.local.get(dst).local.get(p).i32.add();
            f.local.get(src).local.get(p).i32.add();
            if (width === 16) f.v128.load().v128.store();
            else f.i32.load().i32.store();
            f.local.get(p).i32.const(width).i32.add().local.set(p).br(top);
          });
        });
      };
      loop(16);
      loop(4);
    });
    kernels.set(heap, kernel);
  }
  return kernel;
}

/**
 * `concat` of float32 or int32 views; `undefined` for other dtypes (the reference kernel
 * copies those). Small operands outside the heap are copied by the reference loop.
 */
export function concatKernel(
  inputs: readonly CpuBuffer[],
  params: Params,
  out: Aval,
  heap: HeapStorage,
): CpuBuffer | undefined {
  if (out.dtype !== "float32" && out.dtype !== "int32") return;
  const strides = stridesOf(out.shape);
  const axis = params.axis as number;
  const o = heap.array(out.dtype, prod(out.shape), false);
  const copy = copyRows(heap);
  const args = [0, 0, 0, 0, 0, 0];
  let at = 0;
  for (const x of inputs) {
    const base = heap.address(x.data);
    if (base === undefined) {
      copyInto(x, o, at * strides[axis], strides);
      at += x.shape[axis];
      continue;
    }
    forEachBlock(x.shape, [x.strides, strides], [x.offset, at * strides[axis]], (
      offs,
      n,
      rows,
      steps,
      rowSteps,
    ) => {
      if (steps[0] !== 1 || steps[1] !== 1) {
        // Strided runs (a transposed operand, or columns of one element): element by element.
        const d = x.data;
        for (let r = 0; r < rows; r++) {
          let si = offs[0] + r * rowSteps[0], di = offs[1] + r * rowSteps[1];
          for (let i = 0; i < n; i++, si += steps[0], di += steps[1]) o[di] = d[si];
        }
        return;
      }
      args[0] = base + 4 * offs[0];
      args[1] = o.byteOffset + 4 * offs[1];
      args[2] = 4 * n;
      args[3] = rows;
      args[4] = 4 * rowSteps[0];
      args[5] = 4 * rowSteps[1];
      if (copy.index === null || n * rows < PARALLEL) copy.run(...args);
      else if (rows > 1) {
        heap.ctx.mapAt(copy.index, args, {
          units: rows,
          steps: [args[4], args[5], 0, 0, 0, 0],
          countAt: 3,
          scale: 1,
        });
      } else {
        // One long row: whole vectors shared out, the last elements here.
        const vectors = n >> 2;
        heap.ctx.mapAt(copy.index, args, {
          units: vectors,
          steps: [16, 16, 0, 0, 0, 0],
          countAt: 2,
          scale: 16,
        });
        copy.run(args[0] + 16 * vectors, args[1] + 16 * vectors, 4 * (n & 3), 1, 0, 0);
      }
    });
    at += x.shape[axis];
  }
  return new CpuBuffer(o, out.shape);
}
