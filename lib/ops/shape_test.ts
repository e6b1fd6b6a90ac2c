import assert from "node:assert/strict";
import * as nb from "../../mod.ts";
import { expectExact } from "./_test_util.ts";

const m23 = (): nb.Tensor => nb.tensor([[1, 2, 3], [4, 5, 6]]);

Deno.test("reshape", async (t) => {
  await t.step("explicit shape, function and method", async () => {
    await expectExact(nb.reshape(m23(), [3, 2]), [[1, 2], [3, 4], [5, 6]], [3, 2]);
    await expectExact(m23().reshape([6]), [1, 2, 3, 4, 5, 6], [6]);
  });
  await t.step("one -1 is inferred", async () => {
    await expectExact(m23().reshape([-1]), [1, 2, 3, 4, 5, 6], [6]);
    await expectExact(m23().reshape([-1, 2]), [[1, 2], [3, 4], [5, 6]], [3, 2]);
    await expectExact(
      nb.arange(6).reshape([1, -1, 3]),
      [[[0, 1, 2], [3, 4, 5]]],
      [1, 2, 3],
      "int32",
    );
  });
  await t.step("to and from scalars", async () => {
    await expectExact(nb.tensor([7]).reshape([]), 7, []);
    await expectExact(nb.tensor(7).reshape([1, 1]), [[7]], [1, 1]);
    await expectExact(nb.tensor(7).reshape([-1]), [7], [1]);
  });
  await t.step("empty tensors", () => {
    assert.deepEqual(nb.zeros([0, 3]).reshape([3, 0]).shape, [3, 0]);
    assert.deepEqual(nb.zeros([2, 0]).reshape([0]).shape, [0]);
  });
  await t.step("keeps dtype", async () => {
    await expectExact(nb.tensor([true, false]).reshape([2, 1]), [[true], [false]], [2, 1], "bool");
  });
});

Deno.test("transpose and T", async (t) => {
  const x = nb.arange(24).reshape([2, 3, 4]);
  const at = (i: number, j: number, k: number) => i * 12 + j * 4 + k;
  await t.step("default reverses the axes", async () => {
    const y = nb.transpose(x);
    const expected = [0, 1, 2, 3].map((k) => [0, 1, 2].map((j) => [0, 1].map((i) => at(i, j, k))));
    await expectExact(y, expected, [4, 3, 2], "int32");
    await expectExact(x.transpose(), expected, [4, 3, 2], "int32");
    await expectExact(x.T, expected, [4, 3, 2], "int32");
  });
  await t.step("explicit axes", async () => {
    const expected = [0, 1, 2].map((j) => [0, 1].map((i) => [0, 1, 2, 3].map((k) => at(i, j, k))));
    await expectExact(nb.transpose(x, [1, 0, 2]), expected, [3, 2, 4], "int32");
    await expectExact(x.transpose([1, 0, -1]), expected, [3, 2, 4], "int32");
    const e2 = [0, 1, 2, 3].map((k) => [0, 1].map((i) => [0, 1, 2].map((j) => at(i, j, k))));
    await expectExact(x.transpose([2, 0, 1]), e2, [4, 2, 3], "int32");
  });
  await t.step("matrix T", async () => {
    await expectExact(m23().T, [[1, 4], [2, 5], [3, 6]], [3, 2]);
    await expectExact(m23().T.T, [[1, 2, 3], [4, 5, 6]], [2, 3]);
  });
  await t.step("vectors and scalars are their own transpose", async () => {
    await expectExact(nb.tensor([1, 2]).T, [1, 2], [2]);
    await expectExact(nb.tensor(3).T, 3, []);
  });
  await t.step("transpose then reshape reads in the new order", async () => {
    await expectExact(m23().T.reshape([-1]), [1, 4, 2, 5, 3, 6], [6]);
  });
});

Deno.test("expandDims", async (t) => {
  const v = nb.tensor([1, 2]);
  await t.step("positive axes, up to ndim", async () => {
    await expectExact(nb.expandDims(v, 0), [[1, 2]], [1, 2]);
    await expectExact(v.expandDims(1), [[1], [2]], [2, 1]);
  });
  await t.step("negative axes count from the end of the result", async () => {
    await expectExact(v.expandDims(-1), [[1], [2]], [2, 1]);
    await expectExact(v.expandDims(-2), [[1, 2]], [1, 2]);
    assert.deepEqual(nb.zeros([2, 3]).expandDims(-1).shape, [2, 3, 1]);
    assert.deepEqual(nb.zeros([2, 3]).expandDims(-3).shape, [1, 2, 3]);
    assert.deepEqual(nb.zeros([2, 3]).expandDims(1).shape, [2, 1, 3]);
  });
  await t.step("scalars", async () => {
    await expectExact(nb.tensor(5).expandDims(0), [5], [1]);
    await expectExact(nb.tensor(5).expandDims(-1), [5], [1]);
  });
});

Deno.test("squeeze", async (t) => {
  const x = nb.tensor([[[1], [2], [3]]]);
  await t.step("all size-1 axes", async () => {
    await expectExact(nb.squeeze(x), [1, 2, 3], [3]);
    await expectExact(x.squeeze(), [1, 2, 3], [3]);
    await expectExact(nb.tensor([[5]]).squeeze(), 5, []);
  });
  await t.step("given axes", async () => {
    await expectExact(x.squeeze(0), [[1], [2], [3]], [3, 1]);
    await expectExact(x.squeeze(-1), [[1, 2, 3]], [1, 3]);
    await expectExact(nb.squeeze(x, [0, 2]), [1, 2, 3], [3]);
  });
  await t.step("nothing to squeeze", async () => {
    await expectExact(m23().squeeze(), [[1, 2, 3], [4, 5, 6]], [2, 3]);
  });
});

Deno.test("broadcastTo", async (t) => {
  await t.step("adds leading axes and stretches size-1 axes", async () => {
    await expectExact(nb.broadcastTo(nb.tensor([1, 2]), [2, 2]), [[1, 2], [1, 2]], [2, 2]);
    await expectExact(nb.tensor([[1], [2]]).broadcastTo([2, 3]), [[1, 1, 1], [2, 2, 2]], [2, 3]);
    await expectExact(nb.tensor(4).broadcastTo([2]), [4, 4], [2]);
  });
  await t.step("same shape is the identity", async () => {
    await expectExact(m23().broadcastTo([2, 3]), [[1, 2, 3], [4, 5, 6]], [2, 3]);
  });
  await t.step("to an empty dim", () => {
    assert.deepEqual(nb.tensor([[1, 2]]).broadcastTo([0, 2]).shape, [0, 2]);
  });
  await t.step("a broadcast view reads correctly after further ops", async () => {
    const b = nb.tensor([[1], [2]]).broadcastTo([2, 3]);
    await expectExact(b.T, [[1, 2], [1, 2], [1, 2]], [3, 2]);
    await expectExact(b.reshape([-1]), [1, 1, 1, 2, 2, 2], [6]);
    await expectExact(b.sum({ axis: 1 }), [3, 6], [2]);
  });
});

Deno.test("concat", async (t) => {
  const a = nb.tensor([[1, 2]]);
  const b = nb.tensor([[3, 4], [5, 6]]);
  await t.step("axis 0 (default)", async () => {
    await expectExact(nb.concat([a, b]), [[1, 2], [3, 4], [5, 6]], [3, 2]);
  });
  await t.step("axis 1 and -1", async () => {
    const c = nb.tensor([[7], [8]]);
    await expectExact(nb.concat([b, c], 1), [[3, 4, 7], [5, 6, 8]], [2, 3]);
    await expectExact(nb.concat([c, b, c], -1), [[7, 3, 4, 7], [8, 5, 6, 8]], [2, 4]);
  });
  await t.step("one tensor", async () => {
    await expectExact(nb.concat([a]), [[1, 2]], [1, 2]);
  });
  await t.step("empty pieces", async () => {
    await expectExact(nb.concat([nb.zeros([0, 2]), a]), [[1, 2]], [1, 2]);
  });
  await t.step("promotes dtypes", async () => {
    const i = nb.tensor([1], { dtype: "int32" });
    await expectExact(nb.concat([i, nb.tensor([0.5])]), [1, 0.5], [2]);
    await expectExact(nb.concat([i, nb.tensor([true])]), [1, 1], [2], "int32");
  });
});

Deno.test("stack", async (t) => {
  const a = nb.tensor([1, 2, 3]);
  const b = nb.tensor([4, 5, 6]);
  await t.step("axis 0 (default)", async () => {
    await expectExact(nb.stack([a, b]), [[1, 2, 3], [4, 5, 6]], [2, 3]);
  });
  await t.step("axis 1 and -1", async () => {
    const expected = [[1, 4], [2, 5], [3, 6]];
    await expectExact(nb.stack([a, b], 1), expected, [3, 2]);
    await expectExact(nb.stack([a, b], -1), expected, [3, 2]);
  });
  await t.step("matrices along the middle axis", async () => {
    const p = nb.tensor([[1, 2], [3, 4]]);
    const q = nb.tensor([[5, 6], [7, 8]]);
    await expectExact(nb.stack([p, q], 1), [[[1, 2], [5, 6]], [[3, 4], [7, 8]]], [2, 2, 2]);
    await expectExact(nb.stack([p, q], -1), [[[1, 5], [2, 6]], [[3, 7], [4, 8]]], [2, 2, 2]);
  });
  await t.step("scalars", async () => {
    await expectExact(nb.stack([nb.tensor(1), nb.tensor(2)]), [1, 2], [2]);
  });
});

Deno.test("split", async (t) => {
  const x = nb.arange(6);
  const values = async (ts: nb.Tensor[]) => await Promise.all(ts.map((t) => t.toArray()));
  await t.step("equal sections", async () => {
    const parts = nb.split(x, 3);
    assert.equal(parts.length, 3);
    assert.deepEqual(await values(parts), [[0, 1], [2, 3], [4, 5]]);
    assert.ok(parts.every((p) => p.dtype === "int32"));
  });
  await t.step("indices", async () => {
    assert.deepEqual(await values(nb.split(x, [1, 4])), [[0], [1, 2, 3], [4, 5]]);
    assert.deepEqual(await values(x.split([2])), [[0, 1], [2, 3, 4, 5]]);
    assert.deepEqual(await values(nb.split(x, [-2])), [[0, 1, 2, 3], [4, 5]]);
  });
  await t.step("indices past the end give empty pieces (NumPy)", async () => {
    const parts = nb.split(x, [4, 9]);
    assert.deepEqual(await values(parts), [[0, 1, 2, 3], [4, 5], []]);
    assert.deepEqual(parts[2].shape, [0]);
  });
  await t.step("along an axis", async () => {
    const m = nb.arange(12).reshape([2, 6]);
    const [p, q] = m.split(2, 1);
    await expectExact(p, [[0, 1, 2], [6, 7, 8]], [2, 3], "int32");
    await expectExact(q, [[3, 4, 5], [9, 10, 11]], [2, 3], "int32");
    const rows = nb.split(m, [1], -2);
    await expectExact(rows[1], [[6, 7, 8, 9, 10, 11]], [1, 6], "int32");
  });
});

Deno.test("slice", async (t) => {
  const x = nb.tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
  await t.step("a block", async () => {
    await expectExact(nb.slice(x, [1, 0], [2, 2]), [[4, 5], [7, 8]], [2, 2]);
    await expectExact(x.slice([0, 2], [3, 1]), [[3], [6], [9]], [3, 1]);
  });
  await t.step("-1 size runs to the end", async () => {
    await expectExact(x.slice([1, 1], [-1, -1]), [[5, 6], [8, 9]], [2, 2]);
    await expectExact(x.slice([2, 0], [-1, 2]), [[7, 8]], [1, 2]);
  });
  await t.step("empty slice", async () => {
    assert.deepEqual(x.slice([3, 0], [0, 3]).shape, [0, 3]);
  });
  await t.step("a slice of a transpose", async () => {
    await expectExact(x.T.slice([0, 1], [2, 2]), [[4, 7], [5, 8]], [2, 2]);
  });
});

Deno.test("pad", async (t) => {
  await t.step("zeros by default", async () => {
    await expectExact(nb.pad(nb.tensor([1, 2]), [[1, 2]]), [0, 1, 2, 0, 0], [5]);
  });
  await t.step("with a value, per axis", async () => {
    const y = nb.tensor([[1, 2]]).pad([[1, 0], [0, 1]], -1);
    await expectExact(y, [[-1, -1, -1], [1, 2, -1]], [2, 3]);
  });
  await t.step("keeps int32", async () => {
    const y = nb.pad(nb.tensor([5], { dtype: "int32" }), [[2, 0]], 9);
    await expectExact(y, [9, 9, 5], [3], "int32");
  });
  await t.step("zero widths are the identity", async () => {
    await expectExact(nb.pad(m23(), [[0, 0], [0, 0]]), [[1, 2, 3], [4, 5, 6]], [2, 3]);
  });
});

Deno.test("shape ops never mutate their inputs", async () => {
  const x = m23();
  x.reshape([3, 2]);
  x.T;
  x.expandDims(0);
  x.slice([0, 0], [1, 1]);
  x.pad([[1, 1], [1, 1]], 7);
  nb.concat([x, x]);
  nb.stack([x, x]);
  nb.split(x, 3, 1);
  assert.deepEqual(x.shape, [2, 3]);
  assert.deepEqual(await x.toArray(), [[1, 2, 3], [4, 5, 6]]);
});
