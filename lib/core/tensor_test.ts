import assert from "node:assert/strict";
import * as nb from "../../mod.ts";

Deno.test("data() returns a copy", async () => {
  const x = nb.tensor([1, 2, 3]);
  const d = await x.data();
  assert.ok(d instanceof Float32Array);
  assert.deepEqual([...d], [1, 2, 3]);
  d[0] = 100;
  assert.deepEqual([...(await x.data())], [1, 2, 3]);
  const s = x.dataSync();
  s[1] = 100;
  assert.deepEqual([...x.dataSync()], [1, 2, 3]);
  assert.deepEqual(await x.toArray(), [1, 2, 3]);
});

Deno.test("data() of views is row-major and a copy", async () => {
  const x = nb.tensor([[1, 2, 3], [4, 5, 6]]);
  const t = x.T;
  assert.deepEqual([...(await t.data())], [1, 4, 2, 5, 3, 6]);
  const b = nb.tensor([1, 2]).broadcastTo([2, 2]);
  const bd = await b.data();
  assert.deepEqual([...bd], [1, 2, 1, 2]);
  bd[0] = 9;
  assert.deepEqual([...(await b.data())], [1, 2, 1, 2]);
  const s = x.slice([1, 1], [1, 2]);
  assert.deepEqual([...s.dataSync()], [5, 6]);
  assert.equal(s.dataSync().length, 2);
});

Deno.test("data() has the dtype's array type", async () => {
  assert.ok((await nb.tensor([1], { dtype: "int32" }).data()) instanceof Int32Array);
  assert.ok((await nb.tensor([1], { dtype: "float64" }).data()) instanceof Float64Array);
  assert.ok((await nb.tensor([true]).data()) instanceof Uint8Array);
});

Deno.test("shape is frozen", () => {
  const x = nb.tensor([[1, 2], [3, 4]]);
  assert.ok(Object.isFrozen(x.shape));
  assert.throws(() => {
    (x.shape as number[])[0] = 5;
  }, TypeError);
  assert.throws(() => {
    (x.shape as number[]).push(1);
  }, TypeError);
  assert.deepEqual(x.shape, [2, 2]);
  // The shape passed in is copied, not aliased.
  const shape = [2, 2];
  const y = nb.zeros(shape);
  shape[0] = 7;
  assert.deepEqual(y.shape, [2, 2]);
});

Deno.test("ops never mutate their inputs", async () => {
  const x = nb.tensor([[1, -2], [3, -4]]);
  const y = nb.tensor([10, 20]);
  const results = [
    x.add(y),
    x.mul(2),
    x.neg(),
    x.abs(),
    x.relu(),
    x.sum({ axis: 0 }),
    x.max(),
    x.reshape([4]),
    x.T,
    x.transpose([1, 0]),
    x.expandDims(0),
    x.slice([0, 0], [1, 2]),
    x.pad([[0, 1], [0, 0]]),
    x.matmul(x),
    x.softmax(),
    x.astype("int32"),
    nb.concat([x, x]),
    nb.where(x.greater(0), x, y),
  ];
  assert.ok(results.every((r) => r instanceof nb.Tensor));
  assert.deepEqual(await x.toArray(), [[1, -2], [3, -4]]);
  assert.deepEqual(await y.toArray(), [10, 20]);
  // Inputs stay usable after being used.
  assert.deepEqual(await x.add(x).toArray(), [[2, -4], [6, -8]]);
});

Deno.test("dataSync, arraySync, item, toArray", async (t) => {
  await t.step("float32", async () => {
    const x = nb.tensor([[1.5, 2], [3, 4]]);
    assert.deepEqual([...x.dataSync()], [1.5, 2, 3, 4]);
    assert.deepEqual(x.arraySync(), [[1.5, 2], [3, 4]]);
    assert.deepEqual(await x.toArray(), [[1.5, 2], [3, 4]]);
  });
  await t.step("bool reads as booleans", async () => {
    const b = nb.tensor([[true], [false]]);
    assert.deepEqual(b.arraySync(), [[true], [false]]);
    assert.deepEqual(await b.toArray(), [[true], [false]]);
    assert.deepEqual([...b.dataSync()], [1, 0]);
    assert.equal(nb.tensor(true).itemBool(), true);
    assert.equal(nb.tensor(false).itemBool(), false);
  });
  await t.step("item of one-element tensors is a number", () => {
    const half: number = nb.tensor(2.5).item(); // typed number: no cast needed
    assert.equal(half, 2.5);
    assert.equal(nb.tensor([[7]], { dtype: "int32" }).item(), 7);
    assert.equal(nb.tensor(true).item(), 1);
    assert.equal(nb.tensor([false]).item(), 0);
    assert.throws(() => nb.tensor([1, 2]).item(), RangeError);
    assert.throws(() => nb.zeros([0]).item(), RangeError);
  });
  await t.step("itemBool is the truth of the value", () => {
    assert.equal(nb.tensor([1, 2]).sum().greater(2).itemBool(), true);
    assert.equal(nb.tensor(0).itemBool(), false);
    assert.equal(nb.tensor(-0.5).itemBool(), true);
    assert.equal(nb.tensor(NaN).itemBool(), true);
    assert.throws(() => nb.tensor([true, false]).itemBool(), /itemBool: tensor of shape \[2\]/);
  });
  await t.step("scalars", async () => {
    assert.equal(nb.tensor(3).arraySync(), 3);
    assert.equal(await nb.tensor(3).toArray(), 3);
  });
  await t.step("empty", async () => {
    assert.deepEqual(nb.zeros([0]).arraySync(), []);
    assert.deepEqual(await nb.zeros([2, 0]).toArray(), [[], []]);
    assert.equal(nb.zeros([0, 2]).dataSync().length, 0);
  });
});

Deno.test("size and ndim", () => {
  assert.deepEqual([nb.zeros([2, 3, 4]).size, nb.zeros([2, 3, 4]).ndim], [24, 3]);
  assert.deepEqual([nb.tensor(1).size, nb.tensor(1).ndim], [1, 0]);
  assert.deepEqual([nb.zeros([3, 0]).size, nb.zeros([3, 0]).ndim], [0, 2]);
  assert.equal(nb.tensor([1, 2]).device, nb.getDefaultDevice());
});

// Expected texts are NumPy's (2.4) `repr`, with `tensor(` for `array(`.
Deno.test("toString prints like NumPy", async (t) => {
  await t.step("int32 from 2-d on: one row a line, aligned", () => {
    const x = nb.tensor([[1, 2], [3, 4]], { dtype: "int32" });
    assert.equal(x.toString(), "tensor([[1, 2],\n        [3, 4]], dtype=int32)");
    assert.equal(String(nb.arange(3)), "tensor([0, 1, 2], dtype=int32)");
    assert.equal(nb.tensor(-5, { dtype: "int32" }).toString(), "tensor(-5, dtype=int32)");
  });
  await t.step("float32 omits the dtype, marks integral values with a dot, aligns points", () => {
    assert.equal(nb.tensor([1.5, 2]).toString(), "tensor([1.5, 2. ])");
    assert.equal(
      nb.tensor([[0, -1], [0.25, 3]]).toString(),
      "tensor([[ 0.  , -1.  ],\n        [ 0.25,  3.  ]])",
    );
    assert.equal(nb.tensor(3).toString(), "tensor(3.)");
  });
  await t.step("float32 prints its shortest float32 digits, not float64 noise", () => {
    assert.equal(nb.tensor([0.1, 1 / 3]).toString(), "tensor([0.1       , 0.33333334])");
    assert.equal(nb.tensor([0.3, 0.7, 2.2]).toString(), "tensor([0.3, 0.7, 2.2])");
    assert.equal(nb.tensor([-0, -1.25]).toString(), "tensor([-0.  , -1.25])");
  });
  await t.step("scientific when magnitudes are far apart, ties rounded to even", () => {
    assert.equal(nb.tensor([1e-5, 123.456]).toString(), "tensor([1.00000e-05, 1.23456e+02])");
    // 7917.03125 is halfway between 7917.0312 and 7917.0313.
    assert.equal(nb.tensor([7917.03125, 1.5]).toString(), "tensor([7.9170312e+03, 1.5000000e+00])");
  });
  await t.step("float64 names its dtype and prints up to 8 digits after the point", () => {
    assert.equal(
      nb.tensor([0.1 + 0.2, 1 / 3], { dtype: "float64" }).toString(),
      "tensor([0.3       , 0.33333333], dtype=float64)",
    );
    assert.equal(
      nb.tensor([0.5, 2], { dtype: "float64" }).toString(),
      "tensor([0.5, 2. ], dtype=float64)",
    );
  });
  await t.step("special values", () => {
    assert.equal(nb.tensor([NaN, Infinity, -Infinity]).toString(), "tensor([ nan,  inf, -inf])");
  });
  await t.step("bool", () => {
    assert.equal(nb.tensor([true, false]).toString(), "tensor([ true, false], dtype=bool)");
    assert.equal(nb.tensor([[true]]).toString(), "tensor([[true]], dtype=bool)");
  });
  await t.step("empty tensors name their dtype, and their shape unless it is [0]", () => {
    assert.equal(nb.zeros([0]).toString(), "tensor([], dtype=float32)");
    assert.equal(
      nb.zeros([2, 0], { dtype: "int32" }).toString(),
      "tensor([], shape=[2, 0], dtype=int32)",
    );
  });
  await t.step("views print their logical values", () => {
    const x = nb.tensor([[1, 2], [3, 4]], { dtype: "int32" });
    assert.equal(x.T.toString(), "tensor([[1, 3],\n        [2, 4]], dtype=int32)");
  });
  await t.step("3-d: a blank line between 2-d blocks", () => {
    assert.equal(
      nb.arange(8).reshape([2, 2, 2]).astype("float32").div(4).toString(),
      "tensor([[[0.  , 0.25],\n         [0.5 , 0.75]],\n\n        [[1.  , 1.25],\n         [1.5 , 1.75]]])",
    );
  });
  await t.step("long rows wrap at 75 characters", () => {
    assert.equal(
      nb.arange(30).toString(),
      "tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15,\n" +
        "        16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29],\n" +
        "       dtype=int32)",
    );
  });
  await t.step("more than 1000 elements: three at each end of every axis, and the shape", () => {
    assert.equal(
      nb.arange(2000).toString(),
      "tensor([   0,    1,    2, ..., 1997, 1998, 1999],\n       shape=[2000], dtype=int32)",
    );
    assert.equal(
      nb.arange(10000).reshape([100, 100]).toString(),
      [
        "tensor([[   0,    1,    2, ...,   97,   98,   99],",
        "        [ 100,  101,  102, ...,  197,  198,  199],",
        "        [ 200,  201,  202, ...,  297,  298,  299],",
        "        ...,",
        "        [9700, 9701, 9702, ..., 9797, 9798, 9799],",
        "        [9800, 9801, 9802, ..., 9897, 9898, 9899],",
        "        [9900, 9901, 9902, ..., 9997, 9998, 9999]],",
        "       shape=[100, 100], dtype=int32)",
      ].join("\n"),
    );
  });
  await t.step("template strings", () => {
    assert.equal(`${nb.tensor([1], { dtype: "int32" })}`, "tensor([1], dtype=int32)");
  });
  await t.step("tracers print their type, not values", () => {
    let seen = "";
    nb.grad((x: nb.Tensor) => {
      seen = x.toString();
      return x.sum();
    })(nb.ones([2, 3]));
    assert.equal(seen, "Tensor(float32[2,3], traced)");
  });
});

Deno.test("console.log shows the values with shape, dtype and device", () => {
  const x = nb.tensor([[1, 2], [3, 4]], { dtype: "int32" });
  const expected =
    `tensor([[1, 2],\n        [3, 4]], shape=[2, 2], dtype=int32, device=${x.device})`;
  assert.equal(Deno.inspect(x), expected);
  const node = Symbol.for("nodejs.util.inspect.custom");
  assert.equal((x as unknown as Record<symbol, () => string>)[node](), expected);
  const s = nb.tensor(2.5);
  assert.equal(Deno.inspect(s), `tensor(2.5, shape=[], dtype=float32, device=${s.device})`);
  const big = Deno.inspect(nb.zeros([3000]));
  assert.ok(big.startsWith("tensor([0., 0., 0., ..., 0., 0., 0.],\n"), big);
  assert.ok(big.endsWith("shape=[3000], dtype=float32, device=" + s.device + ")"), big);
  const gone = nb.ones([2]);
  gone.dispose();
  assert.equal(Deno.inspect(gone), "Tensor(float32[2], disposed)");
});

Deno.test("dispose", async (t) => {
  await t.step("reads after dispose throw", async () => {
    const x = nb.tensor([1, 2]);
    x.dispose();
    assert.throws(() => x.dataSync(), /disposed/);
    assert.throws(() => x.arraySync(), /disposed/);
    assert.throws(() => x.item(), /disposed|elements/);
    await assert.rejects(() => x.data(), /disposed/);
    await assert.rejects(() => x.toArray(), /disposed/);
  });
  await t.step("using a disposed tensor in an op throws", () => {
    const x = nb.tensor([1, 2]);
    x.dispose();
    assert.throws(() => x.add(1), /disposed/);
  });
  await t.step("dispose is idempotent and keeps the metadata", () => {
    const x = nb.tensor([[1, 2]]);
    x.dispose();
    x.dispose();
    assert.deepEqual(x.shape, [1, 2]);
    assert.equal(x.dtype, "float32");
    assert.equal(x.toString(), "Tensor(float32[1,2], disposed)");
  });
  await t.step("disposing one tensor leaves others valid", async () => {
    const x = nb.tensor([1, 2]);
    const y = x.mul(2);
    const v = x.reshape([2, 1]);
    x.dispose();
    assert.deepEqual(await y.toArray(), [2, 4]);
    assert.deepEqual(await v.toArray(), [[1], [2]]);
  });
});

Deno.test("using disposes at the end of the scope", async () => {
  let escaped: nb.Tensor;
  {
    using x = nb.tensor([1, 2, 3]);
    escaped = x;
    assert.deepEqual(await x.toArray(), [1, 2, 3]);
  }
  assert.throws(() => escaped.dataSync(), /disposed/);
});

Deno.test("scalar tensors of one value share storage safely; -0 stays -0", async () => {
  const { scalar } = await import("./lax.ts");
  const device = nb.getDefaultDevice();
  const a = scalar(0.5, "float32", device), b = scalar(0.5, "float32", device);
  a.dispose();
  assert.equal(b.item(), 0.5);
  assert.equal(scalar(0.5, "float32", device).mul(4).item(), 2);
  assert.equal(scalar(3, "int32", device).dtype, "int32");
  scalar(0, "float32", device);
  assert.ok(Object.is(scalar(-0, "float32", device).item(), -0));
  assert.ok(Object.is(scalar(0, "float32", device).item(), 0));
  assert.ok(Number.isNaN(scalar(NaN, "float32", device).item()));
  assert.ok(Object.is(nb.tensor(1).mul(-0).item(), -0));
});
