/**
 * Large dense float32 elementwise ops on the CPU go through the WebAssembly SIMD kernels
 * (`../wasm/elementwise.ts`): the operands are copied into the Wasm heap, computed there in
 * place, and the result copied back. Single-threaded; the copies cost about as much as the
 * arithmetic for `add`, far less than it for `exp`/`tanh`/`sigmoid`.
 *
 * @module
 */

import { type CpuBuffer, forEachRow } from "./buffer.ts";
import { stridesOf } from "../../core/shape.ts";
import { defaultWasmContext } from "../wasm/context.ts";
import {
  type BinaryMode,
  type ElementwiseKernels,
  elementwiseKernels,
  WASM_BINARY,
  WASM_UNARY,
} from "../wasm/elementwise.ts";

/**
 * Below these many elements the JS loops win (staging and the call cost more than they save);
 * measured crossovers on the 2-core machines: binary ops about 2048, unary ones below 1024.
 * Tunable for tests and measurements; `Infinity` turns the Wasm path off.
 */
export const wasmElementwiseConfig: { minBinary: number; minUnary: number } = {
  minBinary: 4096,
  minUnary: 1024,
};

let kernels: ElementwiseKernels | null | undefined;

// Compiled on first use; a runtime without shared memory or SIMD keeps `null`.
function wasm(): ElementwiseKernels | null {
  if (kernels === undefined) {
    try {
      kernels = elementwiseKernels(defaultWasmContext());
    } catch {
      kernels = null;
    }
  }
  return kernels;
}

// A view whose every element is the same one (a broadcast scalar).
function isScalar(x: CpuBuffer): boolean {
  return x.strides.every((s, i) => s === 0 || x.shape[i] === 1);
}

/**
 * `op(x)` by the Wasm kernel when it applies (float32, at least `minUnary` elements, an op it
 * has; a strided `x` is packed on the way in), else `undefined`.
 */
export function wasmUnary(op: string, x: CpuBuffer): Float32Array | undefined {
  const n = x.size;
  if (n < wasmElementwiseConfig.minUnary || x.dtype !== "float32") return;
  if (!WASM_UNARY.includes(op)) return;
  const k = wasm();
  if (k === null) return;
  const heap = k.ctx.heap;
  const p = heap.alloc(4 * (n + 3 & ~3));
  try {
    const f32 = heap.f32(), xd = x.data as Float32Array, base = p >>> 2;
    if (x.contiguous) f32.set(xd.subarray(x.offset, x.offset + n), base);
    else {
      // A strided view (e.g. one gate's columns of a fused pre-activation) is packed row by row.
      forEachRow(x.shape, [x.strides, stridesOf(x.shape)], [x.offset, base], (offs, len, st) => {
        if (st[0] === 1) f32.set(xd.subarray(offs[0], offs[0] + len), offs[1]);
        else for (let i = 0, j = offs[0]; i < len; i++, j += st[0]) f32[offs[1] + i] = xd[j];
      });
    }
    k.unary(op, p, p, n);
    return heap.f32().slice(p >>> 2, (p >>> 2) + n);
  } finally {
    heap.free(p);
  }
}

/**
 * `a op b` (same shape) by the Wasm kernel when it applies (float32, each operand row-major
 * or a broadcast scalar but not both, at least `minBinary` elements), else `undefined`.
 */
export function wasmBinary(op: string, a: CpuBuffer, b: CpuBuffer): Float32Array | undefined {
  const n = a.size;
  if (n < wasmElementwiseConfig.minBinary || a.dtype !== "float32" || b.dtype !== "float32") {
    return;
  }
  if (!WASM_BINARY.includes(op)) return;
  const mode: BinaryMode | undefined = a.contiguous && b.contiguous
    ? "vv"
    : a.contiguous && isScalar(b)
    ? "vs"
    : b.contiguous && isScalar(a)
    ? "sv"
    : undefined;
  if (mode === undefined) return;
  const k = wasm();
  if (k === null) return;
  const heap = k.ctx.heap;
  const bytes = 4 * (n + 3 & ~3);
  const pa = heap.alloc(mode === "sv" ? 16 : bytes);
  let pb = -1;
  try {
    pb = heap.alloc(mode === "vs" ? 16 : bytes);
    const f32 = heap.f32();
    const ad = a.data as Float32Array, bd = b.data as Float32Array;
    if (mode === "sv") f32[pa >>> 2] = ad[a.offset];
    else f32.set(ad.subarray(a.offset, a.offset + n), pa >>> 2);
    if (mode === "vs") f32[pb >>> 2] = bd[b.offset];
    else f32.set(bd.subarray(b.offset, b.offset + n), pb >>> 2);
    const o = mode === "sv" ? pb : pa; // in place over a dense operand
    k.binary(op, pa, pb, o, n, mode);
    return heap.f32().slice(o >>> 2, (o >>> 2) + n);
  } finally {
    if (pb >= 0) heap.free(pb);
    heap.free(pa);
  }
}
