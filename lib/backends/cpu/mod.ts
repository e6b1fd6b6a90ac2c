/**
 * The CPU backend: the reference implementation in plain TypeScript that every other backend
 * is tested against. Importing this module registers it with the core.
 *
 * @module
 */

import { type Aval, type Backend, type Params, registerBackend } from "../../core/backend.ts";
import type { TypedArray } from "../../core/dtype.ts";
import { sizeOf } from "../../core/shape.ts";
import { CpuBuffer, pack } from "./_buffer.ts";
import { cpuKernels as kernels } from "./_kernels.ts";

function asBuffer(buffer: unknown): CpuBuffer {
  if (buffer instanceof CpuBuffer) return buffer;
  throw new TypeError("cpu backend: expected a cpu buffer");
}

/** The CPU backend's interface: `Backend`, with its buffer type and synchronous reads known. */
export interface CpuBackend extends Backend {
  /** Takes ownership of `data` (row-major) as a buffer of the given shape. */
  fromArray(data: TypedArray, shape: readonly number[]): CpuBuffer;
  /** A row-major copy of a buffer's values; never the buffer's own storage. */
  readSync(buffer: unknown): TypedArray;
  /** Runs primitive `name` on input buffers, producing a buffer described by `out`. */
  run(name: string, inputs: readonly unknown[], params: Params, out: Aval): CpuBuffer;
}

/**
 * The CPU backend. Buffers are strided views over typed arrays, so reshape, broadcast,
 * transpose and slice cost O(1); memory is ordinary garbage-collected memory.
 *
 * @example
 * ```ts
 * import { cpuBackend } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const a = cpuBackend.fromArray(new Float32Array([1, 2, 3]), [3]);
 * const b = cpuBackend.run("mul", [a, a], {}, { shape: [3], dtype: "float32", device: "cpu" });
 * assert.deepEqual([...cpuBackend.readSync(b)], [1, 4, 9]);
 * ```
 */
export const cpuBackend: CpuBackend = {
  device: "cpu",

  fromArray(data: TypedArray, shape: readonly number[]): CpuBuffer {
    if (data.length !== sizeOf(shape)) {
      throw new RangeError(
        `cpu backend: ${data.length} values cannot fill shape [${shape.join(",")}]`,
      );
    }
    return new CpuBuffer(data, shape.slice());
  },

  read(buffer: unknown): Promise<TypedArray> {
    return Promise.resolve(pack(asBuffer(buffer)));
  },

  readSync(buffer: unknown): TypedArray {
    return pack(asBuffer(buffer));
  },

  run(name: string, inputs: readonly unknown[], params: Params, out: Aval): CpuBuffer {
    const kernel = kernels.get(name);
    if (!kernel) throw new Error(`cpu backend: no kernel for primitive "${name}"`);
    return kernel(inputs.map(asBuffer), params, out);
  },

  // Storage is garbage-collected, and views may share it, so there is nothing to release.
  dispose(_buffer: unknown): void {},
};

registerBackend(cpuBackend);

// What the other CPU device (wasm) builds on: the strided views and the reference kernels.
export {
  type Allocate,
  copyInto,
  CpuBuffer,
  forEachBlock,
  forEachRow,
  type Kernel,
  pack,
  prod,
} from "./_buffer.ts";
export { binaryFloatRow, unaryFloatRow } from "./_elementwise.ts";
export { cpuKernels } from "./_kernels.ts";
