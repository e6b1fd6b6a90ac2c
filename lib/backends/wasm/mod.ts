/**
 * The WebAssembly CPU backend's kernels: a run-time Wasm emitter, a SIMD float32 matmul with
 * relaxed-SIMD FMA when available, a shared-memory allocator and a worker-thread pool.
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

export { matmulF32, type MatmulF32Options } from "./api.ts";
export {
  defaultWasmContext,
  type GemmArgs,
  WasmContext,
  type WasmContextOptions,
} from "./context.ts";
export { Allocator, type AllocatorStats } from "./allocator.ts";
export {
  buildMatmulModule,
  defaultMatmulConfig,
  type MatmulConfig,
  matmulWorkBytes,
  relaxedSimdSupported,
} from "./matmul.ts";
export {
  FunctionBuilder,
  type Label,
  type Local,
  type MemoryLimits,
  ModuleBuilder,
  sleb128,
  uleb128,
  type ValType,
} from "./emitter.ts";
