/**
 * The simple entry point: float32 matmul of JS arrays through the wasm kernels (copy in,
 * compute in the shared memory, copy out).
 *
 * @module
 */

import { defaultWasmContext, type WasmContext } from "./_context.ts";

/** Options of {@linkcode matmulF32}. */
export interface MatmulF32Options {
  /** `a` holds Aᵀ, stored row-major as [k, m]. */
  transA?: boolean;
  /** `b` holds Bᵀ, stored row-major as [n, k]. */
  transB?: boolean;
  /** Context to compute in (default: {@linkcode defaultWasmContext}). */
  context?: WasmContext;
}

/**
 * C[m,n] = A[m,k] · B[k,n] for row-major float32 arrays, synchronously, on the wasm SIMD
 * kernels (multi-threaded for big products). Transposed operands are read in place through
 * strides, without a copy.
 *
 * @example
 * ```ts
 * import { matmulF32 } from "./_api.ts";
 * const a = new Float32Array([1, 2, 3, 4, 5, 6]); // 2×3
 * const b = new Float32Array([1, 0, 0, 1, 1, 1]); // 3×2
 * console.log(matmulF32(a, b, 2, 3, 2)); // Float32Array [4, 5, 10, 11]
 * console.log(matmulF32(a, a, 2, 3, 2, { transB: true })); // A·Aᵀ: Float32Array [14, 32, 32, 77]
 * ```
 */
export function matmulF32(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  opts: MatmulF32Options = {},
): Float32Array<ArrayBuffer> {
  for (const [name, v] of [["m", m], ["k", k], ["n", n]] as const) {
    if (!Number.isInteger(v) || v < 0) {
      throw new RangeError(`matmulF32: ${name}=${v} is not a count`);
    }
  }
  const { transA = false, transB = false } = opts;
  if (a.length !== m * k) {
    throw new RangeError(
      `matmulF32: a has ${a.length} elements, expected ${transA ? `[${k}, ${m}]` : `[${m}, ${k}]`}`,
    );
  }
  if (b.length !== k * n) {
    throw new RangeError(
      `matmulF32: b has ${b.length} elements, expected ${transB ? `[${n}, ${k}]` : `[${k}, ${n}]`}`,
    );
  }
  const ctx = opts.context ?? defaultWasmContext();
  const heap = ctx.heap;
  const pa = heap.alloc(4 * a.length), pb = heap.alloc(4 * b.length), pc = heap.alloc(4 * m * n);
  try {
    const f32 = heap.f32();
    f32.set(a, pa >>> 2);
    f32.set(b, pb >>> 2);
    ctx.gemm({
      a: pa,
      b: pb,
      c: pc,
      m,
      n,
      k,
      rsa: transA ? 1 : k,
      csa: transA ? m : 1,
      rsb: transB ? 1 : n,
      csb: transB ? k : 1,
    });
    return heap.f32().slice(pc >>> 2, (pc >>> 2) + m * n);
  } finally {
    heap.free(pc);
    heap.free(pb);
    heap.free(pa);
  }
}
