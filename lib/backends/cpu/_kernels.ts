/**
 * The CPU backend's kernel table: one kernel per primitive.
 *
 * @module
 */

import type { Kernel } from "./_buffer.ts";
import {
  BINARY,
  binaryKernel,
  COMPARE,
  compareKernel,
  convert,
  select,
  stopGradient,
  UNARY,
  unaryKernel,
} from "./_elementwise.ts";
import { gather, iota, scatterAdd } from "./_indexing.ts";
import { matmul } from "./_linalg.ts";
import { broadcast, concat, pad, reshape, slice, transpose } from "./_movement.ts";
import { logSoftmax, softmax } from "./_nn.ts";
import { argmax, argmin, REDUCE, reduceKernel } from "./_reduce.ts";

const table = new Map<string, Kernel>([
  ["select", select],
  ["convert", convert],
  ["stopGradient", stopGradient],
  ["argmax", argmax],
  ["argmin", argmin],
  ["reshape", reshape],
  ["broadcast", broadcast],
  ["transpose", transpose],
  ["slice", slice],
  ["pad", pad],
  ["concat", concat],
  ["gather", gather],
  ["scatterAdd", scatterAdd],
  ["iota", iota],
  ["matmul", matmul],
  ["softmax", softmax],
  ["logSoftmax", logSoftmax],
]);
for (const name of UNARY) table.set(name, unaryKernel(name));
for (const name of BINARY) table.set(name, binaryKernel(name));
for (const name of COMPARE) table.set(name, compareKernel(name));
for (const name of REDUCE) table.set(name, reduceKernel(name));

/**
 * Every primitive's CPU kernel, by primitive name. The wasm device runs these too (with its
 * own output allocator) wherever it has no faster kernel.
 *
 * @example
 * ```ts
 * import { cpuKernels } from "./_kernels.ts";
 * import { CpuBuffer } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const x = new CpuBuffer(new Float32Array([1, 2]), [2]);
 * const y = cpuKernels.get("neg")!([x], {}, { shape: [2], dtype: "float32", device: "cpu" });
 * assert.deepEqual([...y.data], [-1, -2]);
 * ```
 */
export const cpuKernels: ReadonlyMap<string, Kernel> = table;
