/** Helpers shared by the CPU kernel tests: buffers from literals, running and reading kernels. */

import type { DType } from "../../core/dtype.ts";
import type { CpuBuffer } from "./_buffer.ts";
import { cpuBackend as cpu } from "./mod.ts";

/** A float32 buffer. */
export const f32 = (data: number[], shape: number[]): CpuBuffer =>
  cpu.fromArray(new Float32Array(data), shape);
/** A float64 buffer. */
export const f64 = (data: number[], shape: number[]): CpuBuffer =>
  cpu.fromArray(new Float64Array(data), shape);
/** An int32 buffer. */
export const i32 = (data: number[], shape: number[]): CpuBuffer =>
  cpu.fromArray(new Int32Array(data), shape);
/** A bool buffer (0/1). */
export const bool = (data: number[], shape: number[]): CpuBuffer =>
  cpu.fromArray(new Uint8Array(data), shape);
/** Runs one kernel producing `shape`/`dtype`. */
export const run = (
  name: string,
  inputs: CpuBuffer[],
  shape: number[],
  dtype: DType,
  params: Record<string, unknown> = {},
): CpuBuffer => cpu.run(name, inputs, params, { shape, dtype, device: "cpu" });
/** The values of a buffer as a plain array. */
export const read = (b: CpuBuffer): number[] => [...cpu.readSync(b)];
/** `[0, 1, ..., n-1]`. */
export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
