import assert from "node:assert/strict";
import * as nb from "../../../mod.ts";
import * as lax from "../../core/lax.ts";
import { agree, bools, gpu, ignore, ints, uniform } from "./_test_util.ts";

type T = nb.Tensor;

Deno.test({
  name: "webgpu unary float primitives match the CPU on strided views",
  ignore,
  fn: async (t) => {
    const x = uniform([7, 13], 1, -3, 3);
    const pos = uniform([5, 1, 3], 2, 0.01, 4);
    const cases: [string, (x: T) => T, T][] = [
      ["neg", nb.neg, x],
      ["exp", nb.exp, x],
      ["log", nb.log, pos],
      ["sqrt", nb.sqrt, pos],
      ["sin", nb.sin, x],
      ["cos", nb.cos, x],
      ["tanh", nb.tanh, x],
      ["sigmoid", nb.sigmoid, x],
      ["abs", nb.abs, x],
      ["sign", nb.sign, x],
      ["log1p", nb.log1p, uniform([11], 3, -0.9, 3)],
      ["expm1", nb.expm1, x],
    ];
    for (const [name, f, input] of cases) {
      await t.step(name, () => agree((v) => f(v.T), [input], { rtol: 2e-6, atol: 2e-6 }));
    }
    await t.step("tiny arguments of log1p and expm1 keep their precision", () =>
      agree(
        (v) => [nb.log1p(v), nb.expm1(v)],
        [nb.tensor([1e-7, -3e-6, 2e-4, -0.01, 1e-30, 0])],
        { rtol: 1e-6 },
      ));
    await t.step("extremes: sigmoid and tanh saturate without NaN", () =>
      agree(
        (v) => [nb.sigmoid(v), nb.tanh(v), nb.exp(v)],
        [nb.tensor([-1e4, -100, -20, 20, 100, 1e4, 0])],
      ));
    await t.step("NaN stays NaN; sign keeps zero", async () => {
      const v = await nb.tensor([NaN, -0, 0, -2, 3]).to("webgpu");
      const s = [...await nb.sign(v).data()];
      assert.ok(Number.isNaN(s[0]));
      assert.deepEqual(s.slice(1).map((v) => v + 0), [0, 0, -1, 1]);
      assert.ok(Number.isNaN((await nb.tanh(v).data())[0]));
      assert.ok(Number.isNaN((await nb.sigmoid(v).data())[0]));
    });
  },
});

Deno.test({
  name: "webgpu integer and bool unary primitives wrap like the CPU",
  ignore,
  fn: async () => {
    const i = nb.tensor([-(2 ** 31), -7, 0, 5, 2 ** 31 - 1], { dtype: "int32" });
    await agree((v) => [nb.neg(v), nb.abs(v), nb.sign(v), v.square()], [i]);
    await agree((v) => [nb.neg(v), nb.abs(v), nb.sign(v)], [ints([4, 6], 4)]);
  },
});

Deno.test({
  name: "webgpu binary primitives broadcast over awkward shapes",
  ignore,
  fn: async (t) => {
    const a = uniform([5, 1, 7], 10, -2, 2);
    const b = uniform([3, 1], 11, -2, 2);
    const ops: [string, (x: T, y: T) => T][] = [
      ["add", nb.add],
      ["sub", nb.sub],
      ["mul", nb.mul],
      ["div", nb.div],
      ["maximum", nb.maximum],
      ["minimum", nb.minimum],
    ];
    for (const [name, f] of ops) {
      await t.step(`${name} float32 [5,1,7] with [3,1]`, () => agree(f, [a, b]));
      await t.step(`${name} int32 [4,6] with a scalar and a transposed view`, () =>
        agree(
          (x, y, z) => [f(x, z), f(x.T, y.T)],
          [ints([4, 6], 12), ints([4, 6], 13, 1, 5), nb.tensor(3, { dtype: "int32" })],
        ));
    }
    await t.step("pow: positive bases, negative bases with integer exponents, zeros", () =>
      agree(
        (x, y, e) => [nb.pow(x, y), nb.pow(x.neg(), e)],
        [uniform([4, 6], 14, 0.1, 3), uniform([6], 15, -3, 3), nb.tensor([2, 3, -1, 0, 0.5, 7])],
        { rtol: 1e-5 },
      ));
    await t.step("pow: special values", () =>
      agree(
        (x, y) => nb.pow(x, y),
        [nb.tensor([0, 0, 0, -2, 1, 2, -8, NaN]), nb.tensor([0, 2, -1, 3, 100, 0.5, 1 / 3, 0])],
      ));
    await t.step("int32 div truncates toward zero and x / 0 is 0; pow of integers", () =>
      agree(
        (x, y, e) => [lax.div(x, y), nb.pow(x, e)],
        [
          nb.tensor([7, -7, 7, -7, 3, -(2 ** 31)], { dtype: "int32" }),
          nb.tensor([2, 2, -2, 0, 0, -1], { dtype: "int32" }),
          nb.tensor([0, 1, 2, 3, -1, 5], { dtype: "int32" }),
        ],
      ));
    await t.step("int32 arithmetic wraps at 32 bits", () =>
      agree(
        (x, y) => [nb.add(x, y), nb.mul(x, y), nb.sub(x.neg(), y)],
        [
          nb.tensor([2 ** 31 - 1, 65536, -(2 ** 31)], { dtype: "int32" }),
          nb.tensor([1, 65536, 3], {
            dtype: "int32",
          }),
        ],
      ));
    await t.step("NaN propagates through maximum and minimum", async () => {
      const x = await nb.tensor([NaN, 1, 2]).to("webgpu");
      const y = await nb.tensor([0, NaN, 1]).to("webgpu");
      const mx = [...await nb.maximum(x, y).data()];
      const mn = [...await nb.minimum(x, y).data()];
      assert.ok(Number.isNaN(mx[0]) && Number.isNaN(mx[1]) && mx[2] === 2);
      assert.ok(Number.isNaN(mn[0]) && Number.isNaN(mn[1]) && mn[2] === 1);
    });
  },
});

Deno.test({
  name: "webgpu comparisons, where and bool arithmetic",
  ignore,
  fn: async () => {
    const x = nb.tensor([[NaN, 1, 2, -0], [3, 3, -1, 0]]);
    const y = nb.tensor([NaN, 1, 3, 0]);
    await agree((a, b) => [
      a.equal(b),
      a.notEqual(b),
      a.less(b),
      a.lessEqual(b),
      a.greater(b),
      a.greaterEqual(b),
    ], [x, y]);
    const i = ints([3, 5], 20);
    const j = ints([5], 21);
    await agree((a, b) => [a.equal(b), a.less(b), a.greaterEqual(b.T)], [i, j]);
    const p = bools([3, 4], 22);
    const q = bools([4], 23);
    await agree((a, b) => [a.equal(b), a.notEqual(b), a.less(b)], [p, q]);
    await agree(
      (c, a, b) => [nb.where(c, a, b), nb.where(c.T, 1, a.T)],
      [bools([4, 5], 24), uniform([4, 5], 25), uniform([5], 26)],
    );
    await agree((c, a, b) => nb.where(c, a, b), [bools([6], 27), ints([6], 28), ints([1], 29)]);
    await agree((c, a, b) => nb.where(c, a, b), [bools([6], 30), bools([6], 31), bools([6], 32)]);
  },
});

Deno.test({
  name: "webgpu convert between every pair of dtypes",
  ignore,
  fn: async () => {
    const f = nb.tensor([-1.7, 2.5, NaN, 0, -0, 3e9, -3e9, Infinity, 0.2]);
    await agree((v) => [v.astype("int32"), v.astype("bool")], [f]);
    const i = nb.tensor([-5, 0, 7, 2 ** 31 - 1, -(2 ** 31)], { dtype: "int32" });
    await agree((v) => [v.astype("float32"), v.astype("bool")], [i]);
    const b = nb.tensor([true, false, true]);
    await agree((v) => [v.astype("float32"), v.astype("int32"), v.astype("bool")], [b]);
    await agree((v) => v.T.astype("int32").add(1), [uniform([3, 4], 33, -5, 5)]);
  },
});

Deno.test({
  name: "webgpu scalars uploaded as one value are read from the parameters, of every dtype",
  ignore,
  fn: async () => {
    const [x, i, m] = [uniform([3, 4], 31), ints([3, 4], 32), bools([3, 4], 33)];
    const scalars = [
      nb.tensor(-2.5),
      nb.tensor(-3, { dtype: "int32" }),
      nb.tensor(true),
      nb.tensor(NaN),
    ];
    await agree(
      (x, i, m, f, k, b, nan) => [
        x.mul(f).add(nan.mul(x)),
        i.sub(k).maximum(k),
        nb.where(b, m, b),
        nb.where(b, x, f),
        nb.where(m, k, i),
        x.T.div(f),
        b.astype("float32").add(x),
      ],
      [x, i, m, ...scalars],
    );
    // Adding such a scalar binds one buffer besides the parameters: x's.
    const ctx = gpu().context;
    const [gx, two] = await Promise.all([x.to("webgpu"), nb.tensor(2).to("webgpu")]);
    const bound: number[] = [];
    const dispatch = ctx.dispatch;
    ctx.dispatch = (spec, inputs, outputs, params, groups) => {
      bound.push(inputs.length);
      dispatch.call(ctx, spec, inputs, outputs, params, groups);
    };
    try {
      await nb.testing.assertAllClose(gx.add(two), x.add(2));
    } finally {
      ctx.dispatch = dispatch;
    }
    assert.deepEqual(bound, [1]);
  },
});
