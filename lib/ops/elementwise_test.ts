import assert from "node:assert/strict";
import * as nb from "../../mod.ts";

const f32 = Math.fround;

/** Checks dtype, shape and exact values. */
async function expectExact(x: nb.Tensor, expected: nb.NestedArray, dtype: nb.DType) {
  assert.ok(x instanceof nb.Tensor, "result must be a Tensor");
  assert.equal(x.dtype, dtype);
  assert.deepEqual(await x.toArray(), expected);
}

/** Checks dtype, shape and values within a float tolerance. */
async function expectClose(
  x: nb.Tensor,
  expected: nb.NestedArray,
  shape: number[],
  dtype: nb.DType = "float32",
  rtol = 1e-6,
) {
  assert.equal(x.dtype, dtype);
  assert.deepEqual(x.shape, shape);
  await nb.testing.assertAllClose(x, expected, { rtol, atol: 1e-7 });
}

Deno.test("unary ops match Math, as functions and methods", async (t) => {
  const xs = [-2, -0.5, 0, 0.5, 3];
  const pos = [0.25, 0.5, 1, 2, 10];
  const cases: [string, number[], (v: number) => number][] = [
    ["neg", xs, (v) => -v],
    ["exp", xs, Math.exp],
    ["log", pos, Math.log],
    ["sqrt", pos, Math.sqrt],
    ["square", xs, (v) => v * v],
    ["abs", xs, Math.abs],
    ["sign", xs, Math.sign],
    ["sin", xs, Math.sin],
    ["cos", xs, Math.cos],
    ["tanh", xs, Math.tanh],
    ["sigmoid", xs, (v) => 1 / (1 + Math.exp(-v))],
    ["relu", xs, (v) => Math.max(v, 0)],
  ];
  for (const [name, input, f] of cases) {
    await t.step(name, async () => {
      const x = nb.tensor(input);
      const expected = input.map((v) => f(f32(v)));
      // deno-lint-ignore no-explicit-any
      const fn = (nb as any)[name] as (x: nb.Tensor) => nb.Tensor;
      // deno-lint-ignore no-explicit-any
      const method = (x as any)[name] as () => nb.Tensor;
      assert.equal(typeof fn, "function", `nb.${name} exists`);
      assert.equal(typeof method, "function", `Tensor.${name} exists`);
      await expectClose(fn(x), expected, [5]);
      await expectClose(method.call(x), expected, [5]);
    });
  }
});

Deno.test("unary ops on integers", async (t) => {
  const x = nb.tensor([-3, 0, 2], { dtype: "int32" });
  await t.step("neg, abs, sign, square, relu keep int32", async () => {
    await expectExact(x.neg(), [3, 0, -2], "int32");
    await expectExact(x.abs(), [3, 0, 2], "int32");
    await expectExact(x.sign(), [-1, 0, 1], "int32");
    await expectExact(x.square(), [9, 0, 4], "int32");
    await expectExact(x.relu(), [0, 0, 2], "int32");
  });
  await t.step("transcendental ops give float32", async () => {
    await expectClose(nb.exp(x), [Math.exp(-3), 1, Math.exp(2)], [3]);
    await expectClose(nb.sqrt(nb.tensor([4, 9], { dtype: "int32" })), [2, 3], [2]);
    await expectClose(nb.sigmoid(x), [-3, 0, 2].map((v) => 1 / (1 + Math.exp(-v))), [3]);
  });
  await t.step("bool behaves as int32", async () => {
    const b = nb.tensor([true, false]);
    await expectExact(b.neg(), [-1, 0], "int32");
    await expectExact(nb.square(b), [1, 0], "int32");
  });
  await t.step("numbers are accepted", async () => {
    await expectClose(nb.exp(0), 1, []);
    await expectExact(nb.neg(2), -2, "int32");
    await expectExact(nb.neg(2.5), -2.5, "float32");
  });
  await t.step("float64 stays float64", async () => {
    const y = nb.exp(nb.tensor(new Float64Array([1])));
    assert.equal(y.dtype, "float64");
    assert.equal(y.dataSync()[0], Math.exp(1));
  });
});

Deno.test("binary ops, as functions and methods", async (t) => {
  const a = [1, -2, 3.5, 4];
  const b = [2, 0.5, -1, 4];
  const cases: [string, (x: number, y: number) => number | boolean, nb.DType][] = [
    ["add", (x, y) => x + y, "float32"],
    ["sub", (x, y) => x - y, "float32"],
    ["mul", (x, y) => x * y, "float32"],
    ["div", (x, y) => x / y, "float32"],
    ["maximum", Math.max, "float32"],
    ["minimum", Math.min, "float32"],
    ["equal", (x, y) => x === y, "bool"],
    ["notEqual", (x, y) => x !== y, "bool"],
    ["less", (x, y) => x < y, "bool"],
    ["lessEqual", (x, y) => x <= y, "bool"],
    ["greater", (x, y) => x > y, "bool"],
    ["greaterEqual", (x, y) => x >= y, "bool"],
  ];
  for (const [name, f, dtype] of cases) {
    await t.step(name, async () => {
      const x = nb.tensor(a);
      const y = nb.tensor(b);
      const expected = a.map((v, i) => f(v, b[i]));
      // deno-lint-ignore no-explicit-any
      const fn = (nb as any)[name] as (x: nb.Tensor, y: nb.Tensor) => nb.Tensor;
      // deno-lint-ignore no-explicit-any
      const method = (x as any)[name] as (y: nb.Tensor) => nb.Tensor;
      await expectExact(fn(x, y), expected as nb.NestedArray, dtype);
      await expectExact(method.call(x, y), expected as nb.NestedArray, dtype);
    });
  }
  await t.step("pow", async () => {
    const x = nb.tensor([2, 3, 4, 9]);
    const y = nb.tensor([3, 2, 0.5, -0.5]);
    const expected = [8, 9, 2, 1 / 3];
    await expectClose(nb.pow(x, y), expected, [4]);
    await expectClose(x.pow(y), expected, [4]);
    await expectExact(nb.pow(nb.tensor([2, 3], { dtype: "int32" }), 3), [8, 27], "int32");
    await expectExact(nb.pow(2, nb.tensor([1, 2, 3])), [2, 4, 8], "float32");
  });
});

Deno.test("broadcasting", async (t) => {
  await t.step("[2,1] + [3]", async () => {
    const y = nb.add(nb.tensor([[1], [2]]), nb.tensor([10, 20, 30]));
    await expectExact(y, [[11, 21, 31], [12, 22, 32]], "float32");
  });
  await t.step("[2,3,1] * [1,4]", async () => {
    const a = nb.arange(6).reshape([2, 3, 1]);
    const b = nb.tensor([[1, 10, 100, 1000]], { dtype: "int32" });
    const y = a.mul(b);
    assert.deepEqual(y.shape, [2, 3, 4]);
    assert.equal(y.dtype, "int32");
    const expected = [0, 1].map((i) =>
      [0, 1, 2].map((j) => [1, 10, 100, 1000].map((k) => (i * 3 + j) * k))
    );
    assert.deepEqual(await y.toArray(), expected);
  });
  await t.step("numbers on either side", async () => {
    const x = nb.tensor([1, 2, 4]);
    await expectExact(nb.sub(10, x), [9, 8, 6], "float32");
    await expectExact(nb.sub(x, 10), [-9, -8, -6], "float32");
    await expectExact(nb.div(1, x), [1, 0.5, 0.25], "float32");
    await expectExact(nb.div(x, 4), [0.25, 0.5, 1], "float32");
    await expectExact(nb.maximum(2, x), [2, 2, 4], "float32");
    await expectExact(nb.less(2, x), [false, false, true], "bool");
    await expectExact(x.greater(1.5), [false, true, true], "bool");
    await expectExact(nb.add(1, 2), 3, "int32");
    await expectExact(nb.add(1, 0.5), 1.5, "float32");
  });
  await t.step("shape [] tensors", async () => {
    const s = nb.tensor(3);
    assert.deepEqual(s.shape, []);
    await expectExact(s.add(nb.tensor([1, 2])), [4, 5], "float32");
    await expectExact(nb.tensor([[1], [2]]).mul(s), [[3], [6]], "float32");
    await expectExact(s.mul(s), 9, "float32");
  });
  await t.step("empty dims", async () => {
    const y = nb.add(nb.zeros([0, 3]), nb.ones([3]));
    assert.deepEqual(y.shape, [0, 3]);
    assert.equal((await y.data()).length, 0);
    const z = nb.mul(nb.zeros([2, 0]), nb.ones([2, 1]));
    assert.deepEqual(z.shape, [2, 0]);
    assert.deepEqual(await z.toArray(), [[], []]);
    assert.deepEqual(nb.add(nb.zeros([0]), 1).shape, [0]);
    assert.deepEqual(nb.add(nb.zeros([1, 0]), nb.zeros([3, 1])).shape, [3, 0]);
  });
});

Deno.test("dtype promotion", async (t) => {
  const i = nb.tensor([1, 2, 3], { dtype: "int32" });
  const d = nb.tensor([1, 2, 3], { dtype: "float64" });
  const f = nb.tensor([0.5, 0.5, 0.5]);
  const b = nb.tensor([true, false, true]);
  await t.step("x.mul(2) keeps int32 and float64", async () => {
    await expectExact(i.mul(2), [2, 4, 6], "int32");
    await expectExact(d.mul(2), [2, 4, 6], "float64");
    await expectExact(f.mul(2), [1, 1, 1], "float32");
    await expectExact(nb.mul(2, i), [2, 4, 6], "int32");
  });
  await t.step("float64 with a fractional number stays float64", async () => {
    const y = d.add(0.1);
    assert.equal(y.dtype, "float64");
    assert.deepEqual([...y.dataSync()], [1.1, 2.1, 3.1]);
  });
  await t.step("int32 with float32 gives float32", async () => {
    await expectExact(i.add(f), [1.5, 2.5, 3.5], "float32");
    await expectExact(f.add(i), [1.5, 2.5, 3.5], "float32");
  });
  await t.step("float32 with float64 gives float64", async () => {
    await expectExact(f.add(d), [1.5, 2.5, 3.5], "float64");
  });
  await t.step("an integer too large for int32 is rejected, not wrapped", async () => {
    assert.throws(() => i.add(2 ** 31), RangeError);
    assert.throws(() => nb.mul(1e10, i), RangeError);
    await expectExact(i.add(-(2 ** 31)), [-2147483647, -2147483646, -2147483645], "int32");
    await expectExact(f.mul(1e10), [5e9, 5e9, 5e9], "float32");
  });
  await t.step("int32 + 2.5 gives float32", async () => {
    await expectExact(i.add(2.5), [3.5, 4.5, 5.5], "float32");
    await expectExact(nb.add(2.5, i), [3.5, 4.5, 5.5], "float32");
  });
  await t.step("bool behaves as int32 in arithmetic", async () => {
    await expectExact(b.add(b), [2, 0, 2], "int32");
    await expectExact(b.add(1), [2, 1, 2], "int32");
    await expectExact(b.mul(i), [1, 0, 3], "int32");
    await expectExact(b.add(f), [1.5, 0.5, 1.5], "float32");
    await expectExact(b.sub(true), [0, -1, 0], "int32");
    await expectExact(b.mul(0.5), [0.5, 0, 0.5], "float32");
  });
  await t.step("div of ints gives float32", async () => {
    await expectExact(
      nb.div(i, nb.tensor([2, 2, 2], { dtype: "int32" })),
      [0.5, 1, 1.5],
      "float32",
    );
    await expectExact(i.div(2), [0.5, 1, 1.5], "float32");
    await expectExact(b.div(2), [0.5, 0, 0.5], "float32");
    await expectExact(d.div(2), [0.5, 1, 1.5], "float64");
    await expectExact(nb.div(1, 4), 0.25, "float32");
  });
  await t.step("comparisons give bool", async () => {
    await expectExact(i.less(2.5), [true, true, false], "bool");
    await expectExact(i.equal(d), [true, true, true], "bool");
    await expectExact(b.equal(1), [true, false, true], "bool");
    await expectExact(b.equal(b), [true, true, true], "bool");
    await expectExact(f.greaterEqual(i), [false, false, false], "bool");
  });
});

Deno.test("NaN stays NaN", async (t) => {
  const x = nb.tensor([NaN, 1]);
  await t.step("arithmetic", async () => {
    await expectExact(x.add(1), [NaN, 2], "float32");
    await expectExact(x.mul(0), [NaN, 0], "float32");
    await expectExact(x.div(x), [NaN, 1], "float32");
  });
  await t.step("unary", async () => {
    for (const f of [nb.exp, nb.log, nb.sqrt, nb.abs, nb.sign, nb.sin, nb.tanh, nb.sigmoid]) {
      const y = f(x);
      assert.ok(Number.isNaN(y.dataSync()[0]), `${f.name}(NaN)`);
    }
    assert.deepEqual(await nb.relu(nb.tensor([NaN, -1, 2])).toArray(), [NaN, 0, 2]);
  });
  await t.step("maximum, minimum and clip propagate NaN", async () => {
    await expectExact(nb.maximum(x, 5), [NaN, 5], "float32");
    await expectExact(nb.minimum(5, x), [NaN, 1], "float32");
    await expectExact(nb.clip(x, 0, 0.5), [NaN, 0.5], "float32");
  });
  await t.step("comparisons with NaN are false except notEqual", async () => {
    await expectExact(x.equal(x), [false, true], "bool");
    await expectExact(x.notEqual(x), [true, false], "bool");
    await expectExact(x.less(2), [false, true], "bool");
    await expectExact(x.greaterEqual(-2), [false, true], "bool");
  });
  await t.step("invalid domains give NaN and infinities", async () => {
    await expectExact(nb.log(nb.tensor([-1, 0])), [NaN, -Infinity], "float32");
    await expectExact(nb.sqrt(nb.tensor([-1])), [NaN], "float32");
    await expectExact(nb.div(nb.tensor([1, -1, 0]), 0), [Infinity, -Infinity, NaN], "float32");
  });
});

Deno.test("sigmoid is stable at ±1000", async () => {
  const y = nb.sigmoid(nb.tensor([-1000, 1000, -100, 100]));
  const v = await y.toArray();
  assert.deepEqual(v, [0, 1, f32(1 / (1 + Math.exp(100))), 1]);
  const d = nb.sigmoid(nb.tensor(new Float64Array([-1000, 1000])));
  assert.deepEqual([...d.dataSync()], [0, 1]);
});

Deno.test("where", async (t) => {
  await t.step("picks and broadcasts", async () => {
    const x = nb.tensor([[-1, 2], [3, -4]]);
    await expectExact(nb.where(x.greater(0), x, 0), [[0, 2], [3, 0]], "float32");
    const cond = nb.tensor([true, false]);
    await expectExact(nb.where(cond, nb.tensor([[1], [2]]), -1), [[1, -1], [2, -1]], "float32");
  });
  await t.step("numbers on both branches", async () => {
    await expectExact(nb.where(nb.tensor([true, false]), 1, 0), [1, 0], "int32");
    await expectExact(nb.where(nb.tensor([true, false]), 1.5, 0), [1.5, 0], "float32");
  });
  await t.step("promotes branches", async () => {
    const i = nb.tensor([1, 2], { dtype: "int32" });
    const f = nb.tensor([0.5, 0.5]);
    await expectExact(nb.where(nb.tensor([false, true]), i, f), [0.5, 2], "float32");
  });
  await t.step("a numeric condition tests != 0", async () => {
    await expectExact(nb.where(nb.tensor([0, 2, -1]), 1, 0), [0, 1, 1], "int32");
  });
  await t.step("the condition broadcasts against the result shape", async () => {
    const y = nb.where(nb.tensor([[true], [false]]), nb.tensor([1, 2, 3]), nb.tensor(0));
    await expectExact(y, [[1, 2, 3], [0, 0, 0]], "float32");
  });
});

Deno.test("clip", async (t) => {
  await t.step("function and method", async () => {
    const x = nb.tensor([-5, 0.5, 5]);
    await expectExact(nb.clip(x, 0, 1), [0, 0.5, 1], "float32");
    await expectExact(x.clip(-1, 1), [-1, 0.5, 1], "float32");
  });
  await t.step("keeps int32", async () => {
    const i = nb.tensor([-3, 1, 9], { dtype: "int32" });
    await expectExact(i.clip(0, 5), [0, 1, 5], "int32");
  });
  await t.step("tensor bounds broadcast", async () => {
    const x = nb.tensor([[0, 5, 10]]);
    const lo = nb.tensor([[1], [6]]);
    await expectExact(nb.clip(x, lo, 8), [[1, 5, 8], [6, 6, 8]], "float32");
  });
});

Deno.test("astype", async (t) => {
  await t.step("float to int truncates toward zero", async () => {
    await expectExact(nb.astype(nb.tensor([1.7, -1.7, 0.2]), "int32"), [1, -1, 0], "int32");
    await expectExact(nb.tensor([2.9]).astype("int32"), [2], "int32");
  });
  await t.step("to bool tests != 0", async () => {
    await expectExact(nb.tensor([0, 0.5, -2]).astype("bool"), [false, true, true], "bool");
    await expectExact(nb.tensor([0, 3], { dtype: "int32" }).astype("bool"), [false, true], "bool");
  });
  await t.step("bool to numbers", async () => {
    await expectExact(nb.tensor([true, false]).astype("float32"), [1, 0], "float32");
    await expectExact(nb.tensor([true, false]).astype("int32"), [1, 0], "int32");
  });
  await t.step("float32 to float64 and back", async () => {
    const d = nb.tensor([0.1]).astype("float64");
    assert.equal(d.dtype, "float64");
    assert.equal(d.dataSync()[0], f32(0.1));
    const back = nb.tensor(new Float64Array([0.1])).astype("float32");
    assert.equal(back.dataSync()[0], f32(0.1));
  });
  await t.step("same dtype keeps values", async () => {
    const x = nb.tensor([1, 2]);
    await expectExact(x.astype("float32"), [1, 2], "float32");
  });
  await t.step("int32 to float32", async () => {
    await expectExact(nb.arange(3).astype("float32"), [0, 1, 2], "float32");
  });
});

Deno.test("ops never mutate their inputs", async () => {
  const x = nb.tensor([1, 2, 3]);
  const y = nb.tensor([4, 5, 6]);
  x.add(y);
  nb.mul(x, y);
  x.neg();
  nb.where(x.greater(1), x, y);
  x.astype("int32");
  x.clip(2, 2);
  assert.deepEqual(await x.toArray(), [1, 2, 3]);
  assert.deepEqual(await y.toArray(), [4, 5, 6]);
});

Deno.test("relu has derivative 0 at 0 and 1 above", async () => {
  const g = nb.grad((x: nb.Tensor) => nb.relu(x).sum())(nb.tensor([-1, 0, 2]));
  assert.deepEqual(await g.toArray(), [0, 0, 1]);
});
