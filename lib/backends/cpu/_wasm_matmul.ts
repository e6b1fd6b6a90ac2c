/**
 * Large float32 products on the CPU go through the WebAssembly SIMD kernels (multi-threaded):
 * the operand slices are staged into the shared Wasm memory, multiplied there, and the result
 * copied back. Staging costs O(mk + kn + mn) against the O(mkn) it saves.
 *
 * @module
 */

import { defaultWasmContext, type WasmContext } from "../wasm/context.ts";

/** Below this many multiply-adds the plain TypeScript kernel wins (no staging, no hand-off). */
export const WASM_MATMUL_MIN_WORK = 1 << 15;

let context: WasmContext | null | undefined;

// The context is made on first use; a runtime without shared memory or SIMD keeps `null`.
function wasm(): WasmContext | null {
  if (context === undefined) {
    try {
      context = defaultWasmContext();
    } catch {
      context = null;
    }
  }
  return context;
}

/** Whether the Wasm kernels are usable here. */
export function wasmMatmulAvailable(): boolean {
  return wasm() !== null;
}

interface Staged {
  ptr: number;
  rs: number;
  cs: number;
}

// Copies a [rows, cols] view (row stride rs, column stride cs) into the Wasm heap: a dense
// block, row-major or transposed, is one copy that keeps its strides; anything else is packed.
function stage(
  ctx: WasmContext,
  src: Float32Array,
  o: number,
  rows: number,
  cols: number,
  rs: number,
  cs: number,
): Staged {
  const size = rows * cols;
  const ptr = ctx.heap.alloc(4 * size);
  const heap = ctx.heap.f32();
  if ((rows === 1 || rs === cols) && (cols === 1 || cs === 1)) {
    heap.set(src.subarray(o, o + size), ptr >>> 2);
    return { ptr, rs: cols, cs: 1 };
  }
  if ((rows === 1 || rs === 1) && (cols === 1 || cs === rows)) {
    heap.set(src.subarray(o, o + size), ptr >>> 2);
    return { ptr, rs: 1, cs: rows };
  }
  let q = ptr >>> 2;
  for (let i = 0; i < rows; i++) {
    for (let j = 0, s = o + i * rs; j < cols; j++, s += cs) heap[q++] = src[s];
  }
  return { ptr, rs: cols, cs: 1 };
}

/**
 * `C[m, n] = A[m, k] @ B[k, n]` for float32 views given by offsets and strides, written to
 * `c` at `co` (row-major).
 */
export function wasmMatmul(
  a: Float32Array,
  ao: number,
  sam: number,
  sak: number,
  b: Float32Array,
  bo: number,
  sbk: number,
  sbn: number,
  c: Float32Array,
  co: number,
  m: number,
  k: number,
  n: number,
): void {
  const ctx = wasm()!;
  const A = stage(ctx, a, ao, m, k, sam, sak);
  const B = stage(ctx, b, bo, k, n, sbk, sbn);
  const C = ctx.heap.alloc(4 * m * n);
  try {
    ctx.gemm({ a: A.ptr, b: B.ptr, c: C, m, n, k, rsa: A.rs, csa: A.cs, rsb: B.rs, csb: B.cs });
    c.set(ctx.heap.f32().subarray(C >>> 2, (C >>> 2) + m * n), co);
  } finally {
    ctx.heap.free(C);
    ctx.heap.free(B.ptr);
    ctx.heap.free(A.ptr);
  }
}
