import assert from "node:assert/strict";
import { matmulF32 } from "./_api.ts";
import { WasmContext } from "./_context.ts";
import { buildMatmulModule, defaultMatmulConfig, relaxedSimdSupported } from "./_matmul.ts";
import { assertMatmulClose, naiveMatmul, randomF32 } from "./_test_util.ts";

// [m, k, n]: unit, primes, exact tiles, tall/skinny, wide, K past one KC block, all three
// blocking levels crossed (MC = 96, KC = 256, NC = 1024 by default).
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 1],
  [2, 3, 4],
  [37, 53, 29],
  [6, 16, 8],
  [12, 256, 16],
  [5, 1, 9],
  [97, 3, 101],
  [1, 300, 1],
  [300, 1, 1],
  [1, 1, 300],
  [513, 7, 9],
  [3, 1031, 5],
  [130, 600, 1030],
];

const PATHS = relaxedSimdSupported() ? [true, false] : [false];

for (const relaxed of PATHS) {
  const name = relaxed ? "relaxed_madd" : "mul+add";
  // A one-page memory so the tests also exercise growth.
  const ctx = new WasmContext({ threads: 1, relaxed, initialPages: 1 });

  Deno.test(`matmulF32 (${name}) matches a naive matmul on many shapes`, () => {
    for (const [m, k, n] of SHAPES) {
      const a = randomF32(m * k, m + 7 * k), b = randomF32(k * n, n + 13 * k);
      const c = matmulF32(a, b, m, k, n, { context: ctx });
      assertMatmulClose(c, naiveMatmul(a, b, m, k, n), `${name} ${m}×${k}×${n}`);
    }
  });

  Deno.test(`matmulF32 (${name}) with transposed operands`, () => {
    for (const [m, k, n] of [[1, 1, 1], [37, 53, 29], [64, 300, 17], [9, 260, 1030]]) {
      const a = randomF32(m * k, 3 + m), b = randomF32(k * n, 5 + n);
      for (const [transA, transB] of [[true, false], [false, true], [true, true]]) {
        const c = matmulF32(a, b, m, k, n, { transA, transB, context: ctx });
        assertMatmulClose(
          c,
          naiveMatmul(a, b, m, k, n, transA, transB),
          `${name} ${m}×${k}×${n} transA=${transA} transB=${transB}`,
        );
      }
    }
  });
}

Deno.test("the module declares both paths and they validate", () => {
  for (const relaxed of PATHS) {
    for (const mr of [1, 4, 6]) {
      const bytes = buildMatmulModule(defaultMatmulConfig({ relaxed, mr, nr: 8 }));
      assert.ok(WebAssembly.validate(bytes), `relaxed=${relaxed} mr=${mr}`);
    }
  }
  assert.throws(() => buildMatmulModule(defaultMatmulConfig({ nr: 6 })), RangeError);
});

Deno.test("odd tile and block sizes stay correct", () => {
  const [m, k, n] = [41, 70, 45];
  const a = randomF32(m * k, 1), b = randomF32(k * n, 2);
  const expected = naiveMatmul(a, b, m, k, n);
  for (const matmul of [{ mr: 1, nr: 4 }, { mr: 3, nr: 12, kc: 16, mc: 7, nc: 20, unroll: 3 }]) {
    const ctx = new WasmContext({ threads: 1, initialPages: 4, matmul });
    assertMatmulClose(matmulF32(a, b, m, k, n, { context: ctx }), expected, JSON.stringify(matmul));
  }
});

Deno.test("gemm: strided views, accumulation, batches and broadcasting", () => {
  const ctx = new WasmContext({ threads: 1, initialPages: 4 });
  const f32 = () => ctx.heap.f32();
  const put = (x: Float32Array) => {
    const p = ctx.heap.alloc(4 * x.length);
    f32().set(x, p / 4);
    return p;
  };
  const get = (p: number, len: number) => f32().slice(p / 4, p / 4 + len);

  // A is the 5×7 top-left window of a 9×11 matrix; C is written into a 5×(6+3) buffer.
  const big = randomF32(9 * 11, 4), b = randomF32(7 * 6, 5);
  const window = new Float32Array(5 * 7).map((_, i) => big[Math.floor(i / 7) * 11 + (i % 7)]);
  const pa = put(big), pb = put(b), pc = put(new Float32Array(5 * 9).fill(1));
  ctx.gemm({ a: pa, b: pb, c: pc, m: 5, n: 6, k: 7, rsa: 11, ldc: 9 });
  const c = get(pc, 5 * 9);
  const expected = naiveMatmul(window, b, 5, 7, 6);
  assertMatmulClose(c.filter((_, i) => i % 9 < 6), expected, "strided");
  assert.ok(c.filter((_, i) => i % 9 >= 6).every((x) => x === 1), "padding columns untouched");

  // accumulate: C += A·B on top of the previous result
  ctx.gemm({ a: pa, b: pb, c: pc, m: 5, n: 6, k: 7, rsa: 11, ldc: 9, accumulate: true });
  const twice = { c: expected.c.map((x) => 2 * x), scale: expected.scale.map((x) => 2 * x) };
  assertMatmulClose(get(pc, 45).filter((_, i) => i % 9 < 6), twice, "accumulate");

  // batch of 3 with B broadcast (strideB 0)
  const [m, k, n, batch] = [13, 29, 10, 3];
  const as = randomF32(batch * m * k, 6), bs = randomF32(k * n, 7);
  const pas = put(as), pbs = put(bs), pcs = ctx.heap.alloc(4 * batch * m * n);
  ctx.gemm({ a: pas, b: pbs, c: pcs, m, n, k, batch, strideB: 0 });
  for (let i = 0; i < batch; i++) {
    const ai = as.subarray(i * m * k, (i + 1) * m * k);
    assertMatmulClose(get(pcs + 4 * i * m * n, m * n), naiveMatmul(ai, bs, m, k, n), `batch ${i}`);
  }

  // k = 0: C is zeroed, or left alone when accumulating; m = 0 is a no-op
  ctx.gemm({ a: pa, b: pb, c: pc, m: 5, n: 6, k: 0, ldc: 9 });
  assert.ok(get(pc, 45).filter((_, i) => i % 9 < 6).every((x) => x === 0));
  ctx.gemm({ a: pa, b: pb, c: pc, m: 0, n: 6, k: 7 });
});

Deno.test("errors name the operation and the operand", () => {
  const ctx = new WasmContext({ threads: 1, initialPages: 1 });
  const a = new Float32Array(6);
  assert.throws(() => matmulF32(a, a, 2, 3, 3, { context: ctx }), /matmulF32: b has 6 elements/);
  assert.throws(() => matmulF32(a, a, 2, 2, 3, { context: ctx }), /matmulF32: a has 6/);
  assert.throws(() => matmulF32(a, a, 2, 1.5, 3, { context: ctx }), /k=1.5/);
  const bytes = ctx.memory.buffer.byteLength;
  assert.throws(
    () => ctx.gemm({ a: 64, b: 64, c: bytes - 8, m: 2, n: 2, k: 2 }),
    /gemm: C \[1×2×2\] at byte \d+ does not fit/,
  );
  assert.throws(() => ctx.gemm({ a: 64, b: 64, c: 64, m: 2, n: 2, k: 2, rsa: -1 }), /bad stride/);
  assert.throws(() => ctx.gemm({ a: 64, b: 64, c: 64, m: -2, n: 2, k: 2 }), /m must be a count/);
});
