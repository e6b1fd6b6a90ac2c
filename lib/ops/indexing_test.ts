import assert from "node:assert/strict";
import * as nb from "../../mod.ts";
import { expectExact } from "./_test_util.ts";

const i32 = (data: nb.NestedArray): nb.Tensor => nb.tensor(data, { dtype: "int32" });
const m32 = (): nb.Tensor => nb.tensor([[1, 2], [3, 4], [5, 6]]);

Deno.test("take", async (t) => {
  await t.step("flattened when no axis", async () => {
    await expectExact(nb.take(m32(), [0, 3, 5]), [1, 4, 6], [3]);
    await expectExact(m32().take(i32([[5, 0], [1, 1]])), [[6, 1], [2, 2]], [2, 2]);
  });
  await t.step("along an axis", async () => {
    await expectExact(nb.take(m32(), [2, 0], { axis: 0 }), [[5, 6], [1, 2]], [2, 2]);
    await expectExact(m32().take([1, 1, 0], { axis: 1 }), [[2, 2, 1], [4, 4, 3], [6, 6, 5]], [
      3,
      3,
    ]);
    await expectExact(m32().take([1], { axis: -1 }), [[2], [4], [6]], [3, 1]);
  });
  await t.step("negative indices count from the end", async () => {
    await expectExact(nb.take(m32(), [-1, -3], { axis: 0 }), [[5, 6], [1, 2]], [2, 2]);
    await expectExact(nb.take(m32(), [-1]), [6], [1]);
  });
  await t.step("a scalar index drops the axis", async () => {
    await expectExact(nb.take(m32(), 1, { axis: 0 }), [3, 4], [2]);
    await expectExact(nb.take(m32(), i32(1), { axis: 1 }), [2, 4, 6], [3]);
    await expectExact(nb.take(m32(), 4), 5, []);
  });
  await t.step("an index tensor of rank 2 along the middle axis", async () => {
    const x = nb.arange(24).reshape([2, 3, 4]);
    const y = x.take(i32([[2, 0]]), { axis: 1 });
    assert.deepEqual(y.shape, [2, 1, 2, 4]);
    const expected = [0, 1].map((
      i,
    ) => [[2, 0].map((j) => [0, 1, 2, 3].map((k) => i * 12 + j * 4 + k))]);
    assert.deepEqual(await y.toArray(), expected);
  });
  await t.step("bool indices act as 0 and 1", async () => {
    await expectExact(nb.take(nb.tensor([10, 20]), nb.tensor([true, false])), [20, 10], [2]);
  });
  await t.step("keeps dtype", async () => {
    await expectExact(nb.take(i32([7, 8, 9]), [2]), [9], [1], "int32");
  });
});

Deno.test("takeAlongAxis", async (t) => {
  const x = nb.tensor([[10, 30, 20], [60, 40, 50]]);
  await t.step("along the last axis", async () => {
    const idx = i32([[0, 2], [1, 1]]);
    await expectExact(nb.takeAlongAxis(x, idx, 1), [[10, 20], [40, 40]], [2, 2]);
    await expectExact(nb.takeAlongAxis(x, idx, -1), [[10, 20], [40, 40]], [2, 2]);
  });
  await t.step("along axis 0", async () => {
    const idx = i32([[1, 0, 1]]);
    await expectExact(nb.takeAlongAxis(x, idx, 0), [[60, 30, 50]], [1, 3]);
  });
  await t.step("with argmax keepdims (the NumPy idiom)", async () => {
    const i = x.argmax({ axis: 1, keepdims: true });
    await expectExact(nb.takeAlongAxis(x, i, 1), [[30], [60]], [2, 1]);
    const s = x.argmin({ axis: 0, keepdims: true });
    await expectExact(nb.takeAlongAxis(x, s, 0), [[10, 30, 20]], [1, 3]);
  });
  await t.step("indices broadcast over other axes", async () => {
    await expectExact(nb.takeAlongAxis(x, i32([[2, 0]]), 1), [[20, 10], [50, 60]], [2, 2]);
  });
  await t.step("negative indices", async () => {
    await expectExact(nb.takeAlongAxis(x, i32([[-1], [-3]]), 1), [[20], [60]], [2, 1]);
  });
  await t.step("3-d, middle axis", async () => {
    const y = nb.arange(24).reshape([2, 3, 4]);
    const idx = i32([[[2, 1, 0, 2]], [[0, 0, 1, 2]]]);
    const out = nb.takeAlongAxis(y, idx, 1);
    assert.deepEqual(out.shape, [2, 1, 4]);
    const picks = [[2, 1, 0, 2], [0, 0, 1, 2]];
    const expected = [0, 1].map((i) => [[0, 1, 2, 3].map((k) => i * 12 + picks[i][k] * 4 + k)]);
    assert.deepEqual(await out.toArray(), expected);
  });
});

Deno.test("gather of points: p[arange(N), t]", async (t) => {
  const p = nb.tensor([[0.1, 0.2, 0.7], [0.5, 0.4, 0.1], [0.3, 0.3, 0.4], [0.9, 0.05, 0.05]]);
  const labels = [2, 0, 1, 0];
  await t.step("rows and cols", async () => {
    const y = nb.gather(p, [nb.arange(4), i32(labels)]);
    const data = [[0.1, 0.2, 0.7], [0.5, 0.4, 0.1], [0.3, 0.3, 0.4], [0.9, 0.05, 0.05]];
    await expectExact(y, labels.map((c, r) => Math.fround(data[r][c])), [4]);
  });
  await t.step("plain number arrays", async () => {
    await expectExact(nb.gather(m32(), [[2, 0], [1, 0]]), [6, 1], [2]);
  });
  await t.step("negative indices", async () => {
    await expectExact(nb.gather(m32(), [[-1], [-2]]), [5], [1]);
  });
  await t.step("rows only pick whole rows", async () => {
    await expectExact(nb.gather(m32(), [[2, 0]]), [[5, 6], [1, 2]], [2, 2]);
  });
  await t.step("index tensors broadcast", async () => {
    const y = nb.gather(m32(), [i32([[0], [2]]), i32([1, 0])]);
    await expectExact(y, [[2, 1], [6, 5]], [2, 2]);
  });
  await t.step("on a 3-d tensor, leaving the trailing axis", async () => {
    const x = nb.arange(24).reshape([2, 3, 4]);
    const y = nb.gather(x, [[1, 0], [2, 1]]);
    await expectExact(y, [[20, 21, 22, 23], [4, 5, 6, 7]], [2, 4], "int32");
  });
});

Deno.test("oneHot", async (t) => {
  await t.step("vector labels", async () => {
    await expectExact(nb.oneHot(i32([0, 2, 1]), 3), [[1, 0, 0], [0, 0, 1], [0, 1, 0]], [3, 3]);
  });
  await t.step("matrix labels", async () => {
    const y = nb.oneHot(i32([[1], [0]]), 2);
    await expectExact(y, [[[0, 1]], [[1, 0]]], [2, 1, 2]);
  });
  await t.step("scalar label", async () => {
    await expectExact(nb.oneHot(i32(1), 3), [0, 1, 0], [3]);
  });
  await t.step("out-of-range labels give zero rows (JAX)", async () => {
    await expectExact(nb.oneHot(i32([3, -1]), 3), [[0, 0, 0], [0, 0, 0]], [2, 3]);
  });
});

Deno.test("indexing does not mutate its inputs", async () => {
  const x = m32();
  const idx = i32([2, 0]);
  nb.take(x, idx, { axis: 0 });
  nb.gather(x, [idx, i32([0, 1])]);
  nb.takeAlongAxis(x, i32([[0], [1], [0]]), 1);
  assert.deepEqual(await x.toArray(), [[1, 2], [3, 4], [5, 6]]);
  assert.deepEqual(await idx.toArray(), [2, 0]);
});
