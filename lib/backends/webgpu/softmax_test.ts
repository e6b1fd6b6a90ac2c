import assert from "node:assert/strict";
import * as nb from "../../../mod.ts";
import { agree, ignore, uniform, withOtherKernels } from "./_test_util.ts";

const ROWS = [[3, 1], [5, 3], [4, 33], [7, 1000], [3, 4099], [2, 100000]];

Deno.test({
  name: "webgpu softmax and logSoftmax match the CPU for rows of 1 to 100k",
  ignore,
  fn: async (t) => {
    for (const [rows, n] of ROWS) {
      await t.step(`[${rows},${n}]`, () =>
        agree(
          (x) => [x.softmax(), x.logSoftmax()],
          [uniform([rows, n], rows * n, -5, 5)],
          { rtol: 1e-5, atol: n > 1000 ? 1e-7 : 1e-6 },
        ));
    }
    await t.step(
      "the other kernel family (workgroup rows or a thread per row)",
      () =>
        withOtherKernels(async () => {
          for (const [rows, n] of ROWS) {
            await agree((x) => [x.softmax(), x.logSoftmax()], [uniform([rows, n], n, -5, 5)], {
              rtol: 1e-5,
              atol: n > 1000 ? 1e-7 : 1e-6,
            });
          }
          const big = nb.tensor([[1e4, -1e4, 0, ...new Array(40).fill(-1e4)]]);
          await agree((x) => [x.softmax(), x.logSoftmax()], [big]);
          const nan = await nb.tensor([[1, NaN, ...new Array(40).fill(3)]]).to("webgpu");
          assert.ok([...await nan.softmax().data()].every(Number.isNaN));
        }),
    );
    await t.step(
      "a long inner axis (moved last for the row kernel)",
      () =>
        agree((x) => [x.softmax({ axis: 0 }), x.logSoftmax({ axis: 1 })], [
          uniform([20000, 3, 2], 10, -5, 5),
        ], { rtol: 1e-5, atol: 1e-6 }),
    );
    await t.step("other axes and strided inputs", () =>
      agree(
        (
          x,
        ) => [x.softmax({ axis: 0 }), x.logSoftmax({ axis: 1 }), x.transpose([2, 0, 1]).softmax()],
        [uniform([4, 37, 5], 9, -3, 3)],
      ));
  },
});

Deno.test({
  name: "webgpu softmax is exact for ±1e4 logits and NaN rows stay NaN",
  ignore,
  fn: async () => {
    const big = nb.tensor([[1e4, -1e4, 0], [-1e4, -1e4, -1e4], [1e4, 1e4 - 1, -1e4]]);
    await agree((x) => [x.softmax(), x.logSoftmax()], [big]);
    const long = nb.where(nb.arange(500).equal(123), 1e4, uniform([2, 500], 1).mul(1e4));
    await agree((x) => [x.softmax(), x.logSoftmax()], [long], { rtol: 1e-5, atol: 1e-6 });
    const x = await nb.tensor([[1, NaN, 3], [1, 2, 3]]).to("webgpu");
    const s = [...await x.softmax().data()];
    assert.ok(s.slice(0, 3).every(Number.isNaN));
    assert.ok(s.slice(3).every((v) => v > 0 && v < 1));
    const masked = await nb.tensor([[-Infinity, 0, -Infinity]]).to("webgpu");
    assert.deepEqual([...await masked.softmax().data()], [0, 1, 0]);
  },
});
