import assert from "node:assert/strict";
import type { DType } from "../../core/dtype.ts";
import { cpuBackend as cpu } from "./mod.ts";
import type { CpuBuffer } from "./_buffer.ts";
import { f32, read, run } from "./_test_util.ts";

const matmul = (a: CpuBuffer, b: CpuBuffer, shape: number[], dtype: DType = "float32") =>
  run("matmul", [a, b], shape, dtype);

/** A deterministic generator of values in [-1, 1) (a 32-bit LCG). */
function randoms(n: number, seed: number): number[] {
  const out: number[] = [];
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(s / 2 ** 31 - 1);
  }
  return out;
}

/** The reference: a naive triple loop in float64 over row-major [m, k] and [k, n]. */
function naive(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number) {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
      c[i * n + j] = s;
    }
  }
  return [...c];
}

function assertClose(actual: number[], expected: number[], rtol: number): void {
  assert.equal(actual.length, expected.length);
  let scale = 0;
  for (const e of expected) scale = Math.max(scale, Math.abs(e));
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    assert.ok(err <= rtol * Math.max(1, scale), `index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

Deno.test("matmul of small matrices by hand", () => {
  const a = f32([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = f32([7, 8, 9, 10, 11, 12], [3, 2]);
  assert.deepEqual(read(matmul(a, b, [2, 2])), [58, 64, 139, 154]);
  assert.deepEqual(read(matmul(b, a, [3, 3])), [39, 54, 69, 49, 68, 87, 59, 82, 105]);
});

Deno.test("matmul with m, n or k of 1", () => {
  const row = f32([1, 2, 3], [1, 3]);
  const col = f32([4, 5, 6], [3, 1]);
  assert.deepEqual(read(matmul(row, col, [1, 1])), [32]);
  assert.deepEqual(read(matmul(col, row, [3, 3])), [4, 8, 12, 5, 10, 15, 6, 12, 18]);
  const m = f32([1, 2, 3, 4, 5, 6], [2, 3]);
  assert.deepEqual(read(matmul(m, col, [2, 1])), [32, 77]);
  assert.deepEqual(read(matmul(row, f32([1, 2, 3, 4, 5, 6], [3, 2]), [1, 2])), [22, 28]);
  assert.deepEqual(read(matmul(f32([2], [1, 1]), f32([3], [1, 1]), [1, 1])), [6]);
});

Deno.test("matmul with k = 0 or an empty output", () => {
  const out = matmul(f32([], [2, 0]), f32([], [0, 3]), [2, 3]);
  assert.deepEqual(read(out), [0, 0, 0, 0, 0, 0]);
  assert.deepEqual(read(matmul(f32([], [0, 4]), f32(new Array(12).fill(1), [4, 3]), [0, 3])), []);
});

Deno.test("matmul matches a naive triple loop on random 37×53×29 inputs", async (t) => {
  const [m, k, n] = [37, 53, 29];
  const av = randoms(m * k, 1);
  const bv = randoms(k * n, 2);
  await t.step("float32", () => {
    const a = f32(av, [m, k]);
    const b = f32(bv, [k, n]);
    const ref = naive(cpu.readSync(a), cpu.readSync(b), m, k, n);
    assertClose(read(matmul(a, b, [m, n])), ref, 1e-5);
  });
  await t.step("float64", () => {
    const a = cpu.fromArray(new Float64Array(av), [m, k]);
    const b = cpu.fromArray(new Float64Array(bv), [k, n]);
    const out = matmul(a, b, [m, n], "float64");
    assert.ok(cpu.readSync(out) instanceof Float64Array);
    assertClose(read(out), naive(av, bv, m, k, n), 1e-12);
  });
  await t.step("int32", () => {
    const ai = av.map((v) => Math.round(v * 100));
    const bi = bv.map((v) => Math.round(v * 100));
    const a = cpu.fromArray(new Int32Array(ai), [m, k]);
    const b = cpu.fromArray(new Int32Array(bi), [k, n]);
    const out = matmul(a, b, [m, n], "int32");
    assert.ok(cpu.readSync(out) instanceof Int32Array);
    assert.deepEqual(read(out), naive(ai, bi, m, k, n));
  });
});

Deno.test("int32 matmul wraps to 32 bits", () => {
  const a = cpu.fromArray(new Int32Array([65536, 65536]), [1, 2]);
  const b = cpu.fromArray(new Int32Array([65536, 1]), [2, 1]);
  assert.deepEqual(read(matmul(a, b, [1, 1], "int32")), [65536]);
});

Deno.test("matmul larger than one cache block", () => {
  // k > 256 and n > 512 exercise the blocking and the leftover row and columns.
  const [m, k, n] = [5, 301, 517];
  const av = randoms(m * k, 3);
  const bv = randoms(k * n, 4);
  const a = f32(av, [m, k]);
  const b = f32(bv, [k, n]);
  assertClose(read(matmul(a, b, [m, n])), naive(cpu.readSync(a), cpu.readSync(b), m, k, n), 1e-5);
});

Deno.test("matmul reads transposed views", async (t) => {
  const [m, k, n] = [7, 11, 13];
  const av = randoms(m * k, 5);
  const bv = randoms(k * n, 6);
  const ref = naive(new Float32Array(av), new Float32Array(bv), m, k, n);
  // Stored transposed, then viewed back: the kernel sees strides [1, rows].
  const at = f32(transposeValues(av, m, k), [k, m]);
  const bt = f32(transposeValues(bv, k, n), [n, k]);
  const aView = run("transpose", [at], [m, k], "float32", { perm: [1, 0] });
  const bView = run("transpose", [bt], [k, n], "float32", { perm: [1, 0] });
  assert.deepEqual(bView.strides, [1, k]);
  await t.step("transposed B", () => {
    assertClose(read(matmul(f32(av, [m, k]), bView, [m, n])), ref, 1e-5);
  });
  await t.step("transposed A", () => {
    assertClose(read(matmul(aView, f32(bv, [k, n]), [m, n])), ref, 1e-5);
  });
  await t.step("both transposed", () => {
    assertClose(read(matmul(aView, bView, [m, n])), ref, 1e-5);
  });
  await t.step("a sliced B", () => {
    const wide = f32(randoms(k * 20, 7), [k, 20]);
    const s = run("slice", [wide], [k, n], "float32", { begin: [0, 3], size: [k, n] });
    const bs = [...cpu.readSync(s)];
    assertClose(read(matmul(f32(av, [m, k]), s, [m, n])), naive(av, bs, m, k, n), 1e-5);
  });
});

function transposeValues(v: number[], rows: number, cols: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < cols; j++) for (let i = 0; i < rows; i++) out.push(v[i * cols + j]);
  return out;
}

Deno.test("batched matmul", async (t) => {
  await t.step("plain batch", () => {
    const a = f32([1, 2, 3, 4, 1, 0, 0, 1], [2, 2, 2]);
    const b = f32([1, 0, 0, 1, 5, 6, 7, 8], [2, 2, 2]);
    assert.deepEqual(read(matmul(a, b, [2, 2, 2])), [1, 2, 3, 4, 5, 6, 7, 8]);
  });
  await t.step("B broadcast along the batch (stride 0)", () => {
    const a = f32([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [3, 2, 2]);
    const w = f32([1, 1, 0, 2], [2, 2]);
    const wb = run("broadcast", [w], [3, 2, 2], "float32", { shape: [3, 2, 2] });
    assert.deepEqual(wb.strides, [0, 2, 1]);
    assert.deepEqual(read(matmul(a, wb, [3, 2, 2])), [
      1,
      5,
      3,
      11,
      5,
      17,
      7,
      23,
      9,
      29,
      11,
      35,
    ]);
  });
  await t.step("broadcast and transposed B, broadcast A, 2-D batch", () => {
    // B = w^T broadcast to [2, 2, 2, 2]; A = x broadcast the same way.
    const w = f32([1, 2, 3, 4], [2, 2]);
    const wt = run("transpose", [w], [2, 2], "float32", { perm: [1, 0] });
    const wb = run("broadcast", [wt], [2, 2, 2, 2], "float32", { shape: [2, 2, 2, 2] });
    const x = f32([1, 0, 0, 1, 2, 0, 0, 2], [2, 1, 2, 2]);
    const xb = run("broadcast", [x], [2, 2, 2, 2], "float32", { shape: [2, 2, 2, 2] });
    // I @ w^T = [1, 3, 2, 4]; 2I @ w^T = [2, 6, 4, 8]
    assert.deepEqual(read(matmul(xb, wb, [2, 2, 2, 2])), [
      1,
      3,
      2,
      4,
      1,
      3,
      2,
      4,
      2,
      6,
      4,
      8,
      2,
      6,
      4,
      8,
    ]);
  });
  await t.step("random batch with a broadcast A against a naive loop", () => {
    const [bs, m, k, n] = [4, 3, 5, 6];
    const av = randoms(m * k, 8);
    const bv = randoms(bs * k * n, 9);
    const a = run("broadcast", [f32(av, [m, k])], [bs, m, k], "float32", { shape: [bs, m, k] });
    const out = read(matmul(a, f32(bv, [bs, k, n]), [bs, m, n]));
    const a32 = new Float32Array(av);
    const b32 = new Float32Array(bv);
    for (let t = 0; t < bs; t++) {
      const ref = naive(a32, b32.subarray(t * k * n, (t + 1) * k * n), m, k, n);
      assertClose(out.slice(t * m * n, (t + 1) * m * n), ref, 1e-5);
    }
  });
});
