import assert from "node:assert/strict";
import * as nb from "../../mod.ts";
import { expectExact } from "./_test_util.ts";

Deno.test("tensor from JS data", async (t) => {
  await t.step("a number is a float32 scalar", async () => {
    await expectExact(nb.tensor(3), 3, [], "float32");
    await expectExact(nb.tensor(0.1), Math.fround(0.1), [], "float32");
  });
  await t.step("a boolean is a bool scalar", async () => {
    await expectExact(nb.tensor(true), true, [], "bool");
  });
  await t.step("nested arrays of numbers are float32", async () => {
    await expectExact(nb.tensor([1, 2, 3]), [1, 2, 3], [3], "float32");
    await expectExact(nb.tensor([[1, 2], [3, 4]]), [[1, 2], [3, 4]], [2, 2], "float32");
    await expectExact(nb.tensor([[[1], [2]]]), [[[1], [2]]], [1, 2, 1], "float32");
  });
  await t.step("arrays of booleans are bool", async () => {
    await expectExact(nb.tensor([true, false]), [true, false], [2], "bool");
    await expectExact(nb.tensor([[false], [true]]), [[false], [true]], [2, 1], "bool");
  });
  await t.step("booleans mixed with numbers are float32, not truncated to bool", async () => {
    await expectExact(nb.tensor([true, 2, 0.5]), [1, 2, 0.5], [3], "float32");
    await expectExact(nb.tensor([[false], [3]]), [[0], [3]], [2, 1], "float32");
  });
  await t.step("empty arrays", async () => {
    await expectExact(nb.tensor([]), [], [0], "float32");
    const e = nb.tensor([[], []]);
    assert.deepEqual([e.shape, e.dtype], [[2, 0], "float32"]);
  });
  await t.step("a dtype option converts", async () => {
    await expectExact(nb.tensor([1, 2], { dtype: "int32" }), [1, 2], [2], "int32");
    await expectExact(nb.tensor([0, 2], { dtype: "bool" }), [false, true], [2], "bool");
    await expectExact(nb.tensor([true, false], { dtype: "float32" }), [1, 0], [2], "float32");
    const d = nb.tensor([0.1], { dtype: "float64" });
    assert.equal(d.dtype, "float64");
    assert.equal(d.dataSync()[0], 0.1);
  });
  await t.step("a shape option reshapes flat data", async () => {
    await expectExact(nb.tensor([1, 2, 3, 4, 5, 6], { shape: [2, 3] }), [[1, 2, 3], [4, 5, 6]], [
      2,
      3,
    ], "float32");
  });
  await t.step("special values", async () => {
    await expectExact(nb.tensor([NaN, Infinity, -Infinity, -0]), [NaN, Infinity, -Infinity, -0], [
      4,
    ], "float32");
  });
});

Deno.test("tensor from typed arrays", async (t) => {
  await t.step("dtype follows the array type", async () => {
    await expectExact(nb.tensor(new Int32Array([1, -2])), [1, -2], [2], "int32");
    await expectExact(nb.tensor(new Float64Array([0.1])), [0.1], [1], "float64");
    await expectExact(nb.tensor(new Float32Array([0.5])), [0.5], [1], "float32");
    await expectExact(nb.tensor(new Uint8Array([1, 0])), [true, false], [2], "bool");
  });
  await t.step("with a shape", async () => {
    const x = nb.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [3, 2] });
    await expectExact(x, [[1, 2], [3, 4], [5, 6]], [3, 2], "float32");
    await expectExact(nb.tensor(new Int32Array([7]), { shape: [] }), 7, [], "int32");
  });
  await t.step("with a dtype converts", async () => {
    await expectExact(nb.tensor(new Float64Array([1.5, -1.5]), { dtype: "int32" }), [1, -1], [
      2,
    ], "int32");
    await expectExact(nb.tensor(new Int32Array([3]), { dtype: "float32" }), [3], [1], "float32");
  });
  await t.step("the tensor copies the array", async () => {
    const data = new Float32Array([1, 2]);
    const x = nb.tensor(data);
    data[0] = 99;
    assert.deepEqual(await x.toArray(), [1, 2]);
  });
  await t.step("a wrong-sized shape is rejected", () => {
    assert.throws(() => nb.tensor(new Float32Array(5), { shape: [2, 3] }), RangeError);
    assert.throws(() => nb.tensor([1, 2, 3], { shape: [2, 2] }), RangeError);
  });
});

Deno.test("tensor rejects bad data", async (t) => {
  await t.step("ragged arrays", () => {
    assert.throws(() => nb.tensor([[1, 2], [3]]), (e: Error) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /tensor: ragged/);
      return true;
    });
    assert.throws(() => nb.tensor([[1, 2], 3] as nb.NestedArray), RangeError);
    assert.throws(() => nb.tensor([1, [2, 3]] as nb.NestedArray), TypeError);
    assert.throws(() => nb.tensor([[[1]], [[2, 3]]]), RangeError);
  });
  await t.step("non-numbers", () => {
    assert.throws(() => nb.tensor(["a"] as unknown as nb.NestedArray), TypeError);
    assert.throws(() => nb.tensor("a" as unknown as nb.NestedArray), TypeError);
    assert.throws(() => nb.tensor(null as unknown as nb.NestedArray), TypeError);
  });
  await t.step("unknown dtype", () => {
    assert.throws(
      () => nb.tensor([1], { dtype: "float16" as nb.DType }),
      /tensor: unknown dtype "float16"/,
    );
  });
});

Deno.test("zeros, ones, full", async (t) => {
  await t.step("default float32", async () => {
    await expectExact(nb.zeros([2, 3]), [[0, 0, 0], [0, 0, 0]], [2, 3], "float32");
    await expectExact(nb.ones([2]), [1, 1], [2], "float32");
    await expectExact(nb.full([2, 1], 7), [[7], [7]], [2, 1], "float32");
    await expectExact(nb.zeros([]), 0, [], "float32");
    await expectExact(nb.full([], 2.5), 2.5, [], "float32");
  });
  await t.step("dtype option", async () => {
    await expectExact(nb.zeros([2], { dtype: "int32" }), [0, 0], [2], "int32");
    await expectExact(nb.ones([2], { dtype: "bool" }), [true, true], [2], "bool");
    await expectExact(nb.full([2], 3, { dtype: "float64" }), [3, 3], [2], "float64");
    await expectExact(nb.full([2], 2.7, { dtype: "int32" }), [2, 2], [2], "int32");
  });
  await t.step("a boolean fill value gives bool", async () => {
    await expectExact(nb.full([2], true), [true, true], [2], "bool");
  });
  await t.step("empty shapes", () => {
    assert.deepEqual(nb.zeros([0, 4]).shape, [0, 4]);
    assert.equal(nb.ones([3, 0]).size, 0);
  });
  await t.step("bad shapes", () => {
    assert.throws(() => nb.zeros([2, -1]), RangeError);
    assert.throws(() => nb.ones([1.5]), RangeError);
    assert.throws(() => nb.full(3 as unknown as number[], 1), TypeError);
  });
});

Deno.test("zerosLike and onesLike", async (t) => {
  await t.step("keep shape and dtype", async () => {
    await expectExact(nb.zerosLike(nb.tensor([[1, 2]])), [[0, 0]], [1, 2], "float32");
    await expectExact(nb.onesLike(nb.tensor([5, 6], { dtype: "int32" })), [1, 1], [2], "int32");
    await expectExact(nb.onesLike(nb.tensor(true)), true, [], "bool");
  });
  await t.step("dtype option", async () => {
    await expectExact(nb.zerosLike(nb.tensor([1.5]), { dtype: "int32" }), [0], [1], "int32");
    await expectExact(nb.onesLike(nb.tensor([1, 2]), { dtype: "float64" }), [1, 1], [2], "float64");
  });
  await t.step("reject non-tensors", () => {
    assert.throws(() => nb.zerosLike([1, 2] as unknown as nb.Tensor), TypeError);
  });
});

Deno.test("arange", async (t) => {
  await t.step("integer arguments give int32", async () => {
    await expectExact(nb.arange(4), [0, 1, 2, 3], [4], "int32");
    await expectExact(nb.arange(2, 5), [2, 3, 4], [3], "int32");
    await expectExact(nb.arange(0, 10, 3), [0, 3, 6, 9], [4], "int32");
  });
  await t.step("fractional arguments give float32", async () => {
    await expectExact(nb.arange(1, 2, 0.25), [1, 1.25, 1.5, 1.75], [4], "float32");
    await expectExact(nb.arange(0.5, 3), [0.5, 1.5, 2.5], [3], "float32");
  });
  await t.step("negative steps count down", async () => {
    await expectExact(nb.arange(5, 0, -2), [5, 3, 1], [3], "int32");
    await expectExact(nb.arange(1, 0, -0.5), [1, 0.5], [2], "float32");
  });
  await t.step("empty ranges", async () => {
    await expectExact(nb.arange(0), [], [0], "int32");
    await expectExact(nb.arange(3, 1), [], [0], "int32");
    await expectExact(nb.arange(0, 3, -1), [], [0], "int32");
  });
  await t.step("dtype option", async () => {
    await expectExact(nb.arange(3, undefined, 1, { dtype: "float32" }), [0, 1, 2], [3], "float32");
    await expectExact(nb.arange(0, 3, 1, { dtype: "float64" }), [0, 1, 2], [3], "float64");
  });
  await t.step("float steps do not accumulate error", async () => {
    const x = nb.arange(0, 1, 0.1);
    assert.equal(x.size, 10);
    const expected = Array.from({ length: 10 }, (_, i) => Math.fround(i * 0.1));
    assert.deepEqual([...x.dataSync()], expected);
  });
  await t.step("bad arguments", () => {
    assert.throws(() => nb.arange(0, 3, 0), RangeError);
    assert.throws(() => nb.arange(Infinity), RangeError); // a number, but not a finite one
    assert.throws(() => nb.arange("3" as never), TypeError);
  });
});

Deno.test("linspace", async (t) => {
  await t.step("includes both ends", async () => {
    await expectExact(nb.linspace(0, 1, 5), [0, 0.25, 0.5, 0.75, 1], [5], "float32");
    await expectExact(nb.linspace(2, -2, 3), [2, 0, -2], [3], "float32");
  });
  await t.step("num 1 and 0", async () => {
    await expectExact(nb.linspace(3, 7, 1), [3], [1], "float32");
    await expectExact(nb.linspace(3, 7, 0), [], [0], "float32");
  });
  await t.step("dtype option", async () => {
    const d = nb.linspace(0, 1, 4, { dtype: "float64" });
    assert.equal(d.dtype, "float64");
    assert.deepEqual([...d.dataSync()], [0, 1 / 3, 2 / 3, 1]);
    await expectExact(nb.linspace(0, 10, 3, { dtype: "int32" }), [0, 5, 10], [3], "int32");
  });
  await t.step("bad num", () => {
    assert.throws(() => nb.linspace(0, 1, -1), RangeError);
    assert.throws(() => nb.linspace(0, 1, 2.5), RangeError);
  });
});

Deno.test("eye", async (t) => {
  await t.step("identity", async () => {
    await expectExact(nb.eye(3), [[1, 0, 0], [0, 1, 0], [0, 0, 1]], [3, 3], "float32");
    await expectExact(nb.eye(1), [[1]], [1, 1], "float32");
    assert.deepEqual(nb.eye(0).shape, [0, 0]);
  });
  await t.step("dtype option", async () => {
    await expectExact(nb.eye(2, { dtype: "int32" }), [[1, 0], [0, 1]], [2, 2], "int32");
    await expectExact(nb.eye(2, { dtype: "bool" }), [[true, false], [false, true]], [2, 2], "bool");
  });
  await t.step("bad n", () => {
    assert.throws(() => nb.eye(-1), RangeError);
    assert.throws(() => nb.eye(1.5), RangeError);
  });
});

Deno.test("creation functions reject unknown dtypes with a TypeError", () => {
  const bad = { dtype: "int8" as nb.DType };
  for (
    const f of [
      () => nb.zeros([1], bad),
      () => nb.ones([1], bad),
      () => nb.full([1], 1, bad),
      () => nb.arange(3, undefined, 1, bad),
      () => nb.linspace(0, 1, 2, bad),
      () => nb.eye(2, bad),
      () => nb.zerosLike(nb.tensor([1]), bad),
    ]
  ) {
    assert.throws(
      f,
      (e: Error) => e instanceof TypeError && /unknown dtype "int8"/.test(e.message),
    );
  }
});
