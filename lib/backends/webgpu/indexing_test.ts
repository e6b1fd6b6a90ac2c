import assert from "node:assert/strict";
import * as nb from "../../../mod.ts";
import * as lax from "../../core/lax.ts";
import { agree, bools, ignore, ints, uniform, withOtherKernels } from "./_test_util.ts";

const i32 = (xs: number[] | number[][]) => nb.tensor(xs, { dtype: "int32" });

Deno.test({
  name: "webgpu gather: any axis, index shapes, negative and out-of-range indices, views",
  ignore,
  fn: async () => {
    const x = uniform([4, 5, 3], 1);
    await agree(
      (x, i, j) => [
        nb.take(x, i, { axis: 0 }),
        nb.take(x, i, { axis: 1 }),
        nb.take(x, j, { axis: 2 }),
        nb.take(x.transpose([2, 0, 1]), i, { axis: 1 }),
        nb.takeAlongAxis(x, x.argmax({ axis: 1, keepdims: true }), 1),
        nb.gather(x, [j.reshape([-1]).abs(), j.reshape([-1]).abs()]),
      ],
      [x, i32([3, -1, 0, 2, 7, -9]), i32([[0, 2], [-1, 1]])],
    );
    await agree((x, i) => [lax.gather(x, i, 0), lax.gather(x.T, i, 1)], [
      ints([6, 4], 2),
      i32([5, 0, -2]),
    ]);
    await agree((x, i) => lax.gather(x, i, 1), [bools([3, 4], 3), i32([[1, 3], [0, 0]])]);
    await agree((x, i) => lax.gather(x, i, 0), [uniform([0, 3], 4), i32([0, 1])]);
  },
});

/** Runs a test body with this adapter's kernels, then with the other family's. */
function bothFamilies(body: () => Promise<void>): (t: Deno.TestContext) => Promise<void> {
  return async (t) => {
    await t.step("this adapter's kernels", body);
    await t.step("the other kernel family", () => withOtherKernels(body));
  };
}

Deno.test({
  name: "webgpu scatterAdd: duplicates accumulate, negatives wrap, out of range drops",
  ignore,
  fn: bothFamilies(async () => {
    const idx = i32([0, 2, 2, -1, 7, -6, 0]);
    await agree(
      (u, i) => [lax.scatterAdd(u, i, 0, 5), lax.scatterAdd(u.T, i, 1, 4)],
      [uniform([7, 3], 5), idx],
    );
    await agree((u, i) => lax.scatterAdd(u, i, 1, 3), [
      ints([2, 2, 2, 4], 6),
      i32([[0, 2], [2, 1]]),
    ]);
    await agree((u, i) => lax.scatterAdd(u, i, 0, 3), [bools([7], 7), idx.abs().sub(1)]);
    // Gradients of gathers are scatters: the CPU and GPU agree through grad too.
    await agree(
      (x, i) => nb.grad((x: nb.Tensor) => nb.take(x, i, { axis: 1 }).square().sum())(x),
      [uniform([3, 6], 8), i32([5, 0, 5, 5, -1])],
    );
  }),
});

Deno.test({
  name: "webgpu scatterAdd: duplicates add in index order, exactly as on the CPU",
  ignore,
  fn: bothFamilies(async () => {
    // In float32, 1e8 + 1 rounds back to 1e8: only the order 1e8, 1, -1e8, 1 gives 1 at index
    // 2 (any other order of those four gives 0 or 2). Index 4 is hit once, 0 and 3 never,
    // and positions 0 and 6 (the span of index 2) enclose the others.
    const u = nb.tensor([1e8, 5, 1, -1e8, 7, -3, 1], { device: "webgpu" });
    const idx = nb.tensor([2, 4, 2, -3, 1, 1, 2], { dtype: "int32", device: "webgpu" });
    const expected = [0, 4, 1, 0, 5];
    assert.deepEqual([...await lax.scatterAdd(u, idx, 0, 5).data()], expected);
    const onCpu = lax.scatterAdd(await u.to("cpu"), await idx.to("cpu"), 0, 5);
    assert.deepEqual([...await onCpu.data()], expected);
    // Rows of inner elements share their index's span.
    const rows = nb.stack([u, u.neg()], 1);
    const scattered = await lax.scatterAdd(rows, idx, 0, 5).toArray();
    assert.deepEqual(scattered, expected.map((v) => [v, v === 0 ? 0 : -v]));
  }),
});

Deno.test({
  name: "webgpu scatterAdd: large problems, atomics where the order is not kept",
  ignore,
  fn: bothFamilies(async () => {
    // On hardware 2^24 index checks would be too many for the deterministic kernel: atomics
    // take over. A software adapter's threads walk 4096 indices in order.
    const n = 4096;
    const idx = nb.random.randint(nb.random.key(9), [n], -n, 2 * n, { device: "cpu" });
    await agree((u, i) => lax.scatterAdd(u, i, 0, n), [uniform([n, 2], 10), idx], {
      rtol: 1e-5,
      atol: 1e-5,
    });
    await agree((u, i) => lax.scatterAdd(u, i, 0, n), [ints([n, 2], 11), idx]);
    await agree((u, i) => lax.scatterAdd(u, i, 0, n), [bools([n, 2], 12), idx]);
    // Few outputs but many indices: also atomics (no thread loops over 20000 indices).
    const many = nb.random.randint(nb.random.key(13), [20000], -3, 4, { device: "cpu" });
    await agree((u, i) => lax.scatterAdd(u, i, 0, 3), [ints([20000], 14), many]);
  }),
});

Deno.test({
  name: "webgpu iota: arange, eye and oneHot are made on the device",
  ignore,
  fn: async () => {
    await nb.setDevice("webgpu");
    try {
      const a = nb.arange(2, 11, 3);
      const e = nb.eye(4);
      const h = nb.oneHot(i32([2, 0, 1]), 4);
      for (const x of [a, e, h]) assert.equal(x.device, "webgpu");
      assert.deepEqual(await a.toArray(), [2, 5, 8]);
      assert.deepEqual(await e.sum({ axis: 0 }).toArray(), [1, 1, 1, 1]);
      assert.deepEqual(await h.toArray(), [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]]);
      const k = lax.iota([2, 3, 2], 1, "int32", "webgpu");
      assert.deepEqual(await k.reshape([-1]).toArray(), [0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2]);
    } finally {
      await nb.setDevice("cpu");
    }
  },
});
