import assert from "node:assert/strict";
import * as nb from "../../../mod.ts";
import * as lax from "../../core/lax.ts";
import { agree, bools, ignore, ints, uniform, withOtherKernels } from "./_test_util.ts";

type T = nb.Tensor;

Deno.test({
  name: "webgpu reductions over any axes match the CPU",
  ignore,
  fn: async (t) => {
    const x = uniform([5, 7, 9], 1);
    const y = uniform([2, 3, 4, 5], 2, 0.5, 1.5);
    const axes: (number | number[] | undefined)[] = [undefined, 0, 1, -1, [0, 2], [1, 2]];
    for (const op of ["sum", "max", "min", "prod"] as const) {
      await t.step(`${op} over ${JSON.stringify(axes)} and transposed views`, () =>
        agree(
          (a, b) => [
            ...axes.map((axis) => a[op]({ axis })),
            a.transpose([2, 0, 1])[op]({ axis: [0, 2] }),
            b[op]({ axis: [1, 3] }),
            b[op]({ axis: [0, 3], keepdims: true }),
          ],
          [x, y],
          { rtol: 1e-5, atol: 1e-5 },
        ));
    }
    await t.step(
      "mean, var and logsumexp",
      () =>
        agree(
          (a) => [a.mean({ axis: 1 }), a.var({ axis: [0, 2] }), a.logsumexp({ axis: -1 })],
          [x],
          {
            atol: 1e-5,
          },
        ),
    );
    await t.step("int32 sums wrap, bool sums are or and products are and", () =>
      agree(
        (i, b) => [
          i.sum({ axis: 0 }),
          i.prod({ axis: 1 }),
          i.max({ axis: [0, 1] }),
          i.min(),
          b.astype("int32").sum({ axis: 1 }),
          b.max({ axis: 0 }),
          b.min({ axis: 0 }),
          b.prod({ axis: 1 }),
        ],
        [ints([6, 11], 3, -100000, 100000), bools([6, 11], 4)],
      ));
  },
});

Deno.test({
  name: "webgpu long reductions use workgroups and stay accurate",
  ignore,
  fn: async () => {
    // 3 outputs of 20000 elements (workgroup path), 5000 outputs of 7 (thread path).
    const long = uniform([3, 20000], 5);
    await agree(
      (a) => [a.sum({ axis: 1 }), a.max({ axis: 1 }), a.min(), a.T.sum({ axis: 0 })],
      [long],
      { atol: 2e-4 },
    );
    await agree((a) => [a.sum({ axis: 1 }), a.max({ axis: 1 })], [uniform([5000, 7], 6)], {
      atol: 1e-5,
    });
    await agree((i) => i.sum(), [ints([30000], 7)]);
  },
});

Deno.test({
  name: "webgpu reductions longer than a thread may loop: chunked partial results",
  ignore,
  fn: async () => {
    // Over 65536 elements per output: several workgroups per output, then a second pass.
    const x = uniform([2, 300001], 15);
    await agree((a) => [a.sum({ axis: 1 }), a.max({ axis: 1 }), a.min()], [x], { atol: 1e-3 });
    const planted = nb.where(nb.arange(300001).equal(299999), 7, x);
    await agree((a) => [a.argmax({ axis: 1 }), a.argmin({ axis: 1 }), a.argmax()], [planted]);
    const nan = nb.where(nb.arange(300001).equal(123456), NaN, x);
    await agree((a) => [a.argmax({ axis: 1 }), a.argmin({ axis: 1 })], [nan]);
    await agree((i) => [i.sum({ axis: 0 }), i.max({ axis: 0 })], [ints([70000, 2], 16)]);
  },
});

Deno.test({
  name: "webgpu reductions and argmax: the other kernel family agrees too",
  ignore,
  fn: () =>
    withOtherKernels(async () => {
      const long = uniform([40, 3000], 11);
      await agree(
        (a) => [a.sum({ axis: 1 }), a.max({ axis: 1 }), a.T.min({ axis: 0 }), a.prod({ axis: 0 })],
        [long],
        { atol: 1e-4 },
      );
      await agree((i, b) => [i.sum({ axis: 1 }), b.max({ axis: 1 })], [
        ints([40, 3000], 12),
        bools([40, 3000], 13),
      ]);
      const planted = nb.where(nb.arange(3000).equal(2999), NaN, long);
      await agree((a) => [a.argmax({ axis: 1 }), a.argmin({ axis: 1 })], [long]);
      await agree((a) => [a.argmax({ axis: 1 }), a.argmin({ axis: 1 })], [planted]);
      await agree((i) => [i.argmax({ axis: 1 }), i.argmin({ axis: 1 })], [
        ints([40, 3000], 14, 0, 9),
      ]);
    }),
});

Deno.test({
  name: "webgpu empty reductions give the identity; NaN propagates",
  ignore,
  fn: async () => {
    await agree((a) => [a.sum({ axis: 0 }), a.prod({ axis: 0 }), lax.reduceMax(a, [0])], [
      nb.zeros([0, 3]),
    ]);
    const x = await nb.tensor([[1, NaN, 3], [4, 5, 6]]).to("webgpu");
    const mx = [...await x.max({ axis: 1 }).data()];
    assert.ok(Number.isNaN(mx[0]) && mx[1] === 6);
    const mn = [...await x.min({ axis: 1 }).data()];
    assert.ok(Number.isNaN(mn[0]) && mn[1] === 4);
  },
});

Deno.test({
  name: "webgpu argmax and argmin: first of ties, first NaN, any axis, long rows",
  ignore,
  fn: async () => {
    const ties = nb.tensor([[1, 3, 3, 0], [2, 2, 2, 2], [NaN, 5, NaN, 9], [-1, -5, -5, 7]]);
    await agree(
      (a) => [a.argmax({ axis: 1 }), a.argmin({ axis: 1 }), a.argmax({ axis: 0 }), a.argmin()],
      [ties],
    );
    await agree(
      (a: T) => [a.argmax({ axis: 1 }), a.argmin({ axis: 0 }), a.T.argmax({ axis: 0 })],
      [uniform([7, 13], 8)],
    );
    await agree((a: T) => [a.argmax({ axis: 1 }), a.argmin({ axis: 1 })], [ints([9, 5], 9, 0, 3)]);
    // Long rows go through the workgroup kernel; plant ties and a NaN far from the start.
    const long = uniform([2, 10000], 10);
    const planted = nb.where(nb.arange(10000).equal(7777), 5, long);
    await agree((a) => [a.argmax({ axis: 1 }), a.argmin({ axis: 1 }), a.argmax()], [planted]);
    const withNan = nb.where(nb.arange(10000).equal(4321), NaN, long);
    await agree((a) => [a.argmax({ axis: 1 }), a.argmin({ axis: 1 })], [withNan]);
    const flat = nb.concat([nb.full([5000], 2), nb.full([5000], 2)]);
    await agree((a) => [a.argmax(), a.argmin()], [flat]);
  },
});
