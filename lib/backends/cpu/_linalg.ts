/**
 * `matmul`: batched `[...batch, m, k] @ [...batch, k, n]` in plain TypeScript.
 *
 * The float kernel is an i-k-j loop blocked over k and n so that a block of B stays in cache,
 * computing two output rows against four rows of B at a time: each B value loaded feeds two
 * multiply-adds and each output element is loaded and stored once per four products. Batches
 * are walked through strides, so a broadcast batch (stride 0) is never materialised; only a B
 * slice whose rows are not contiguous (such as a transposed view) is packed, once per distinct
 * slice. Large float32 products go to the WebAssembly SIMD kernels instead.
 *
 * @module
 */

import type { Aval, Params } from "../../core/backend.ts";
import { allocate, type TypedArray } from "../../core/dtype.ts";
import { stridesOf } from "../../core/shape.ts";
import { type Allocate, CpuBuffer, forEachRow, prod } from "./_buffer.ts";

/** Rows of B per block: 256 × 512 float32 values (512 KiB) fit in a typical L2 cache. */
const KC = 256;
/** Columns of B (and of the output rows) per block. */
const NC = 512;

/** `C[m, n] += A[m, k] @ B[k, n]` for float arrays; B rows are dense, `C` is row-major. */
function mmFloat(
  A: TypedArray,
  ao: number,
  sam: number,
  sak: number,
  B: TypedArray,
  bo: number,
  sbk: number,
  C: TypedArray,
  co: number,
  m: number,
  k: number,
  n: number,
): void {
  for (let j0 = 0; j0 < n; j0 += NC) {
    const j1 = Math.min(n, j0 + NC);
    for (let p0 = 0; p0 < k; p0 += KC) {
      const p1 = Math.min(k, p0 + KC);
      let i = 0;
      for (; i + 1 < m; i += 2) {
        const c0 = co + i * n;
        const c1 = c0 + n;
        const r0 = ao + i * sam;
        const r1 = r0 + sam;
        let p = p0;
        for (; p + 3 < p1; p += 4) {
          const q = p * sak;
          const a0 = A[r0 + q], a1 = A[r0 + q + sak], a2 = A[r0 + q + 2 * sak];
          const a3 = A[r0 + q + 3 * sak];
          const e0 = A[r1 + q], e1 = A[r1 + q + sak], e2 = A[r1 + q + 2 * sak];
          const e3 = A[r1 + q + 3 * sak];
          const b0 = bo + p * sbk, b1 = b0 + sbk, b2 = b1 + sbk, b3 = b2 + sbk;
          for (let j = j0; j < j1; j++) {
            const x0 = B[b0 + j], x1 = B[b1 + j], x2 = B[b2 + j], x3 = B[b3 + j];
            C[c0 + j] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3;
            C[c1 + j] += e0 * x0 + e1 * x1 + e2 * x2 + e3 * x3;
          }
        }
        for (; p < p1; p++) {
          const a0 = A[r0 + p * sak];
          const e0 = A[r1 + p * sak];
          const b0 = bo + p * sbk;
          for (let j = j0; j < j1; j++) {
            const x = B[b0 + j];
            C[c0 + j] += a0 * x;
            C[c1 + j] += e0 * x;
          }
        }
      }
      if (i < m) {
        const c0 = co + i * n;
        const r0 = ao + i * sam;
        for (let p = p0; p < p1; p++) {
          const a0 = A[r0 + p * sak];
          const b0 = bo + p * sbk;
          for (let j = j0; j < j1; j++) C[c0 + j] += a0 * B[b0 + j];
        }
      }
    }
  }
}

/** `C[m, n] = A[m, k] @ B[k, n]` for int32, wrapping to 32 bits as NumPy does. */
function mmInt(
  A: TypedArray,
  ao: number,
  sam: number,
  sak: number,
  B: TypedArray,
  bo: number,
  sbk: number,
  C: TypedArray,
  co: number,
  m: number,
  k: number,
  n: number,
): void {
  for (let i = 0; i < m; i++) {
    const c0 = co + i * n;
    for (let p = 0; p < k; p++) {
      const a = A[ao + i * sam + p * sak];
      const b0 = bo + p * sbk;
      for (let j = 0; j < n; j++) C[c0 + j] = (C[c0 + j] + Math.imul(a, B[b0 + j])) | 0;
    }
  }
}

/** `C[m] = A[m, k] @ b[k]`: a column of B needs no packing, only a dot product per row. */
function matvec(
  A: TypedArray,
  ao: number,
  sam: number,
  sak: number,
  B: TypedArray,
  bo: number,
  sbk: number,
  C: TypedArray,
  co: number,
  m: number,
  k: number,
  int: boolean,
): void {
  for (let i = 0; i < m; i++) {
    let s = 0;
    let ai = ao + i * sam;
    let bi = bo;
    if (int) {
      for (let p = 0; p < k; p++, ai += sak, bi += sbk) s = (s + Math.imul(A[ai], B[bi])) | 0;
    } else for (let p = 0; p < k; p++, ai += sak, bi += sbk) s += A[ai] * B[bi];
    C[co + i] = s;
  }
}

/** A dense row-major copy of one `[k, n]` slice of B. */
function packSlice(
  B: TypedArray,
  bo: number,
  sbk: number,
  sbn: number,
  k: number,
  n: number,
  into: TypedArray,
): TypedArray {
  for (let p = 0; p < k; p++) {
    let bi = bo + p * sbk;
    const row = p * n;
    for (let j = 0; j < n; j++, bi += sbn) into[row + j] = B[bi];
  }
  return into;
}

/**
 * `matmul` on `[a, b]`: `a: [...batch, m, k]`, `b: [...batch, k, n]` with the same batch dims
 * (either may be any strided or broadcast view), giving `[...batch, m, n]`.
 *
 * @example
 * ```ts
 * import { matmul } from "./_linalg.ts";
 * import { CpuBuffer } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const a = new CpuBuffer(new Float32Array([1, 2, 3, 4]), [2, 2]);
 * const b = new CpuBuffer(new Float32Array([5, 6, 7, 8]), [2, 2]);
 * const out = { shape: [2, 2], dtype: "float32", device: "cpu" } as const;
 * assert.deepEqual([...matmul([a, b], {}, out).data], [19, 22, 43, 50]);
 * ```
 */
export function matmul(
  inputs: readonly CpuBuffer[],
  _params: Params,
  out: Aval,
  alloc: Allocate = allocate,
): CpuBuffer {
  const [a, b] = inputs;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = a.shape[ra - 2];
  const k = a.shape[ra - 1];
  const n = b.shape[rb - 1];
  const c = alloc(out.dtype, prod(out.shape));
  if (c.length === 0 || k === 0) return new CpuBuffer(c, out.shape);
  const int = out.dtype === "int32";
  const sam = a.strides[ra - 2];
  const sak = a.strides[ra - 1];
  const sbk = b.strides[rb - 2];
  const sbn = b.strides[rb - 1];
  const batchShape = out.shape.slice(0, -2);
  const cStrides = stridesOf(batchShape).map((s) => s * m * n);
  const ad = a.data;
  const bd = b.data;
  const needsPack = n > 1 && sbn !== 1;
  const packed = needsPack ? allocate(out.dtype, k * n) : bd;
  // A broadcast batch offers the same B slice again: pack it only when it changes.
  let packedFrom = -1;
  const strides = [a.strides.slice(0, ra - 2), b.strides.slice(0, rb - 2), cStrides];
  forEachRow(batchShape, strides, [a.offset, b.offset, 0], (offs, count, steps) => {
    for (let t = 0; t < count; t++) {
      const ao = offs[0] + t * steps[0];
      const bo = offs[1] + t * steps[1];
      const co = offs[2] + t * steps[2];
      if (n === 1) {
        matvec(ad, ao, sam, sak, bd, bo, sbk, c, co, m, k, int);
      } else if (needsPack) {
        if (bo !== packedFrom) packSlice(bd, bo, sbk, sbn, k, n, packed);
        packedFrom = bo;
        (int ? mmInt : mmFloat)(ad, ao, sam, sak, packed, 0, n, c, co, m, k, n);
      } else {
        (int ? mmInt : mmFloat)(ad, ao, sam, sak, bd, bo, sbk, c, co, m, k, n);
      }
    }
  });
  return new CpuBuffer(c, out.shape);
}
