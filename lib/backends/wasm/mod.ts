/**
 * The `wasm` device and its parts: the backend (tensors in a shared Wasm heap), a run-time Wasm
 * emitter, SIMD float32 kernels (matmul with relaxed-SIMD FMA when available, elementwise,
 * reductions, softmax, scatter-add), a shared-memory allocator and a worker-thread pool.
 * Importing it registers the device (`./backend.ts`).
 *
 * @example
 * ```ts
 * import { matmulF32 } from "./mod.ts";
 * const c = matmulF32(new Float32Array([1, 2]), new Float32Array([3, 4]), 1, 2, 1);
 * console.log(c); // Float32Array [11]
 * ```
 *
 * @module
 */

export { type WasmBackend, wasmBackend } from "./_backend.ts";
export { fastKernelConfig } from "./_kernels.ts";
export { ReduceKernels, reduceKernels, type ReduceOp } from "./_reduce.ts";
export { matmulF32, type MatmulF32Options } from "./_api.ts";
export {
  defaultWasmContext,
  type GemmArgs,
  WasmContext,
  type WasmContextOptions,
} from "./_context.ts";
export { Allocator, type AllocatorStats } from "./_allocator.ts";
export {
  buildMatmulModule,
  defaultMatmulConfig,
  type MatmulConfig,
  matmulWorkBytes,
  relaxedSimdSupported,
} from "./_matmul.ts";
export {
  FunctionBuilder,
  type Label,
  type Local,
  type MemoryLimits,
  ModuleBuilder,
  sleb128,
  uleb128,
  type ValType,
} from "./_emitter.ts";
