import * as nb from "../../../mod.ts";
import { agree, gpu, ignore, ints, uniform, withOtherKernels } from "./_test_util.ts";

type T = nb.Tensor;
const tol = { rtol: 1e-4, atol: 1e-5 };

/** Square-ish shapes with every edge case of the tiles: 1, primes, multiples of 4 and 64. */
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 1],
  [3, 5, 2],
  [2, 1, 5],
  [17, 31, 13],
  [4, 8, 12],
  [64, 64, 64],
  [65, 33, 97],
];

async function cases(t: Deno.TestContext): Promise<void> {
  for (const [m, k, n] of SHAPES) {
    await t.step(`[${m},${k}] @ [${k},${n}], plain and with transposed operands`, () =>
      agree(
        (a, b, at, bt) => [a.matmul(b), at.T.matmul(b), a.matmul(bt.T), at.T.matmul(bt.T)],
        [
          uniform([m, k], m * 100 + k),
          uniform([k, n], k * 100 + n),
          uniform([k, m], 7 + m),
          uniform([n, k], 9 + n),
        ],
        tol,
      ));
  }
  await t.step("batched, broadcast batch dims, sliced (offset) operands", () =>
    agree(
      (a, b, c, d) => [
        a.matmul(b),
        c.matmul(d),
        a.slice([1, 0, 1], [2, 5, 6]).matmul(b.slice([0, 1, 0], [2, 6, 6])),
      ],
      [
        uniform([3, 5, 7], 1),
        uniform([3, 7, 6], 2),
        uniform([2, 1, 4, 5], 3),
        uniform([3, 5, 6], 4),
      ],
      tol,
    ));
  await t.step("vector promotions", () =>
    agree(
      (v, m, w) => [v.matmul(m), m.T.matmul(v), v.matmul(v), nb.outer(v, w)],
      [uniform([9], 5), uniform([9, 4], 6), uniform([3], 7)],
      tol,
    ));
  await t.step("int32 wraps like the CPU", () =>
    agree((a, b) => [a.matmul(b), a.T.matmul(a)], [
      ints([5, 6], 8, -50000, 50000),
      ints([6, 3], 9, -50000, 50000),
    ]));
  await t.step("split-K: small outputs with long k", () =>
    agree(
      (a, b, v) => [a.matmul(b), v.matmul(v.T), a.T.T.matmul(b.T.T)],
      [uniform([3, 2000], 10), uniform([2000, 5], 11), uniform([1, 4099], 12)],
      { rtol: 1e-4, atol: 1e-4 },
    ));
  await t.step(
    "very long k is split so that no thread loops too long",
    () =>
      agree((a, b) => a.matmul(b), [uniform([2, 40000], 13), uniform([40000, 3], 14)], {
        rtol: 1e-4,
        atol: 1e-3,
      }),
  );
}

Deno.test({
  name: "webgpu matmul (the adapter's kernel) matches the CPU for awkward shapes",
  ignore,
  fn: cases,
});

Deno.test({
  name: "webgpu matmul: the other kernel (workgroup-memory or register tiles) also matches",
  ignore,
  fn: async (t) => {
    const before = gpu().context.useWorkgroupMemory;
    await withOtherKernels(async () => {
      if (before) {
        // Hardware ran the workgroup kernel above: the register kernel compiles quickly.
        await cases(t);
        return;
      }
      // On a software adapter each workgroup-memory variant takes seconds to compile, so
      // cover its two families: aligned vec4 tiles, and checked edges with transposed,
      // broadcast operands and split-K.
      await t.step(
        "aligned: [64,128] @ [128,64] and batched",
        () =>
          agree((a, b) => [a.matmul(b), a.expandDims(0).matmul(b.broadcastTo([2, 128, 64]))], [
            uniform([64, 128], 20),
            uniform([128, 64], 21),
          ], tol),
      );
      await t.step("edges, strided operands and split-K", () =>
        agree(
          (a: T, b: T) => [a.T.matmul(b.T), a.T.matmul(b.T.slice([0, 1], [1500, 5]).T.T)],
          [uniform([1500, 7], 22), uniform([6, 1500], 23)],
          { rtol: 1e-4, atol: 1e-4 },
        ));
    });
  },
});
