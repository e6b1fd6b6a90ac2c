// Every primitive family's vmap rule: `vmap(f)(xs)` must equal stacking `f(xs[i])` computed in
// a loop, for batch axes 0, 1, -1 and null (unbatched) in every mix, and for outAxes 1.

import * as nb from "../../../mod.ts";
import assert from "node:assert/strict";

const { assertAllClose } = nb.testing;
type T = nb.Tensor;

const { random } = nb;

/** Uniform float32 values in [lo, hi), from the library's own seeded generator. */
function uniform(shape: number[], seed: number, lo = -1, hi = 1): T {
  return random.uniform(random.key(seed), shape, { minval: lo, maxval: hi });
}

/** Random int32 indices in [lo, hi). */
function indices(shape: number[], seed: number, lo: number, hi: number): T {
  return random.randint(random.key(seed), shape, lo, hi);
}

type Axis = number | null;

/**
 * Checks `vmap(f, { inAxes, outAxes })(...args)` against the loop that applies `f` to each
 * example (`take` of index i along the batch axis) and stacks the results along `outAxes`.
 */
async function checkVmap(
  f: (...xs: T[]) => T,
  args: T[],
  inAxes: Axis[],
  outAxes = 0,
): Promise<void> {
  const k = inAxes.findIndex((a) => a !== null);
  const n = args[k].shape.at(inAxes[k]!)!;
  const example = (i: number) =>
    args.map((a, j) => (inAxes[j] === null ? a : nb.take(a, i, { axis: inAxes[j]! })));
  const loop = Array.from({ length: n }, (_, i) => f(...example(i)));
  const expected = nb.stack(loop, outAxes < 0 ? outAxes + loop[0].ndim + 1 : outAxes);
  const actual = nb.vmap(f, { inAxes, outAxes })(...args);
  assert.deepEqual(actual.shape, expected.shape);
  assert.equal(actual.dtype, expected.dtype);
  await assertAllClose(actual, expected);
}

Deno.test("vmap of elementwise primitives", async (t) => {
  const x = uniform([3, 4], 1);
  const y = uniform([3, 4], 2, 0.5, 2);
  const unary: [string, (x: T) => T][] = [
    ["neg", nb.neg],
    ["exp", nb.exp],
    ["log∘abs", (x) => nb.log(nb.abs(x).add(0.1))],
    ["sqrt∘square", (x) => nb.sqrt(nb.square(x))],
    ["sin, cos", (x) => nb.sin(x).add(nb.cos(x))],
    ["tanh, sigmoid", (x) => nb.tanh(x).mul(nb.sigmoid(x))],
    ["sign", nb.sign],
    ["log1p, expm1", (x) => nb.log1p(x.add(1)).sub(nb.expm1(x))],
    ["relu", nb.relu],
    ["stopGradient", nb.stopGradient],
    ["astype int32 (convert)", (x) => x.mul(3).astype("int32")],
  ];
  for (const [name, f] of unary) {
    await t.step(`${name}: inAxes 0`, () => checkVmap(f, [x], [0]));
    await t.step(`${name}: inAxes 1, outAxes 1`, () => checkVmap(f, [x], [1], 1));
  }
  const binary: [string, (a: T, b: T) => T][] = [
    ["add", nb.add],
    ["sub", nb.sub],
    ["mul", nb.mul],
    ["div", nb.div],
    ["pow", (a, b) => nb.pow(b, a)],
    ["maximum", nb.maximum],
    ["minimum", nb.minimum],
    [
      "comparisons (eq ne lt le gt ge)",
      (a, b) =>
        nb.stack([
          nb.equal(a, b.mul(0).add(a)),
          nb.notEqual(a, b),
          nb.less(a, b),
          nb.lessEqual(a, b),
          nb.greater(a, b),
          nb.greaterEqual(a, b),
        ]),
    ],
    ["where", (a, b) => nb.where(a.less(0), a, b)],
  ];
  for (const [name, f] of binary) {
    await t.step(`${name}: [0, 0]`, () => checkVmap(f, [x, y], [0, 0]));
    await t.step(`${name}: [1, 0]`, () => checkVmap(f, [x, y.T], [1, 0]));
    await t.step(
      `${name}: [0, null] with a broadcast operand`,
      () => checkVmap(f, [x, y.slice([0, 0], [1, 4])], [0, null]),
    );
    await t.step(
      `${name}: [null, -1], outAxes 1`,
      () => checkVmap(f, [x.slice([0, 0], [1, 4]).reshape([4]), y.T], [null, -1], 1),
    );
  }
  await t.step(
    "where with only the condition batched",
    () =>
      checkVmap((c, a, b) => nb.where(c, a, b), [x.greater(0), uniform([4], 3), uniform([4], 4)], [
        0,
        null,
        null,
      ]),
  );
  await t.step("scalar number operands", () => checkVmap((a) => a.mul(2).add(1).pow(2), [x], [1]));
});

Deno.test("vmap of reductions", async (t) => {
  const x = uniform([3, 2, 4], 10);
  // The last entry is the outAxes to try besides 0 (scalar results have only axis 0).
  const cases: [string, (x: T) => T, number][] = [
    ["sum over all", (x) => x.sum(), 0],
    ["sum over axis -1 with keepdims", (x) => x.sum({ axis: -1, keepdims: true }), 1],
    ["sum over [0, 1]", (x) => x.sum({ axis: [0, 1] }), 0],
    ["mean", (x) => x.mean({ axis: 0 }), 1],
    ["max over all", (x) => x.max(), 0],
    ["max over axis 1", (x) => x.max({ axis: 1 }), 1],
    ["min over axis 0", (x) => x.min({ axis: 0 }), 1],
    ["prod over axis 1", (x) => x.prod({ axis: 1 }), 1],
    ["argmax along axis 1", (x) => x.argmax({ axis: 1 }), 1],
    ["argmin of the flattened example", (x) => x.argmin(), 0],
    ["logsumexp", (x) => x.logsumexp({ axis: 1 }), 1],
    ["var", (x) => x.var({ axis: [0, 1] }), 0],
    ["var with keepdims", (x) => x.var({ axis: 1, keepdims: true }), 2],
  ];
  for (const [name, f, outAxes] of cases) {
    await t.step(`${name}: inAxes 0`, () => checkVmap(f, [x], [0]));
    await t.step(`${name}: inAxes 2, outAxes ${outAxes}`, () => checkVmap(f, [x], [2], outAxes));
  }
});

Deno.test("vmap of movement primitives", async (t) => {
  const x = uniform([3, 2, 4], 20);
  const cases: [string, (x: T) => T][] = [
    ["reshape", (x) => x.reshape([4, -1])],
    ["reshape to a scalar-free vector", (x) => x.reshape([-1])],
    ["transpose", (x) => x.transpose([1, 0])],
    [
      "broadcastTo new and stretched axes",
      (x) => x.sum({ axis: 0, keepdims: true }).broadcastTo([2, 3, 4]),
    ],
    ["expandDims, squeeze", (x) => x.expandDims(0).mul(2).squeeze(0)],
    ["slice", (x) => x.slice([1, 1], [1, 2])],
    ["pad with a value", (x) => x.pad([[1, 0], [0, 2]], 7)],
    ["concat with itself", (x) => nb.concat([x, x.mul(2)], 1)],
    ["stack", (x) => nb.stack([x, x.neg()], 0)],
    ["split", (x) => nb.split(x, 2, 1)[1]],
  ];
  for (const [name, f] of cases) {
    await t.step(`${name}: inAxes 0`, () => checkVmap(f, [x], [0]));
    await t.step(`${name}: inAxes 1`, () => checkVmap(f, [x.transpose([1, 0, 2])], [1]));
    await t.step(
      `${name}: inAxes -1, outAxes 1`,
      () => checkVmap(f, [x.transpose([1, 2, 0])], [-1], 1),
    );
  }
  const c = uniform([2, 4], 21);
  await t.step(
    "concat of batched and unbatched along axis 0",
    () => checkVmap((a, b) => nb.concat([b, a, b], 0), [x, c], [0, null]),
  );
  await t.step(
    "concat of unbatched and batched along the last axis, outAxes 1",
    () => checkVmap((a, b) => nb.concat([b, a], -1), [x.transpose([1, 2, 0]), c], [2, null], 1),
  );
  await t.step(
    "stack of batched with unbatched",
    () => checkVmap((a, b) => nb.stack([a, b], 1), [x, c], [0, null]),
  );
});

Deno.test("vmap of indexing primitives: gather, scatterAdd", async (t) => {
  const x = uniform([3, 5, 2], 30); // a batch of 3 examples of [5, 2]
  const idx = indices([3, 4], 31, 0, 5); // a batch of 3 index vectors into 5 rows
  const idx2 = indices([3, 2, 2], 32, 0, 5);
  const shared = indices([4], 33, 0, 5);
  await t.step(
    "take: batched data, unbatched indices",
    () => checkVmap((x) => nb.take(x, shared, { axis: 0 }), [x], [0]),
  );
  await t.step(
    "take: unbatched data, batched indices",
    () =>
      checkVmap((i) => nb.take(x.slice([0, 0, 0], [1, 5, 2]).squeeze(0), i, { axis: 0 }), [idx], [
        0,
      ]),
  );
  await t.step(
    "take: unbatched data, batched indices, axis 1",
    () => checkVmap((i) => nb.take(uniform([2, 5, 3], 34), i, { axis: 1 }), [idx], [0]),
  );
  await t.step(
    "take: both batched",
    () => checkVmap((x, i) => nb.take(x, i, { axis: 0 }), [x, idx], [0, 0]),
  );
  await t.step(
    "take: both batched, 2-d indices, outAxes 1",
    () => checkVmap((x, i) => nb.take(x, i, { axis: 0 }), [x, idx2], [0, 0], 1),
  );
  await t.step("take: both batched along axis 1 with the batch at axis 1", () =>
    checkVmap(
      (x, i) => nb.take(x, i, { axis: 1 }),
      [uniform([2, 3, 5], 35), indices([4, 3], 36, 0, 5)],
      [1, 1],
    ));
  await t.step(
    "take: both batched with negative and out-of-range indices (clamped per example)",
    () =>
      checkVmap((x, i) => nb.take(x, i, { axis: 0 }), [
        x,
        nb.tensor([[-1, 9], [0, -7], [4, 5]], { dtype: "int32" }),
      ], [0, 0]),
  );
  await t.step(
    "take of the flattened example",
    () => checkVmap((x, i) => nb.take(x, i), [x, indices([3, 4], 37, 0, 10)], [0, 0]),
  );
  await t.step(
    "takeAlongAxis, both batched",
    () => checkVmap((x, i) => nb.takeAlongAxis(x, i, 0), [x, indices([3, 4, 2], 38, 0, 5)], [0, 0]),
  );
  await t.step(
    "takeAlongAxis, batched indices only",
    () =>
      checkVmap(
        (i) => nb.takeAlongAxis(uniform([5, 2], 39), i, 1),
        [indices([3, 5, 1], 40, 0, 2)],
        [0],
      ),
  );
  await t.step(
    "gather of rows and columns, batched data and columns",
    () =>
      checkVmap((x, c) => nb.gather(x, [nb.arange(4, undefined, 1, { dtype: "int32" }), c]), [
        uniform([3, 4, 2], 41),
        indices([3, 4], 42, 0, 2),
      ], [0, 0]),
  );
  await t.step("oneHot of batched labels", () => checkVmap((l) => nb.oneHot(l, 5), [idx], [0]));

  // scatterAdd appears as the transpose of gather: per-example gradients and VJPs of take.
  const scatter = (x: T, i: T, ct: T) =>
    nb.vjp((x: T) => nb.take(x, i, { axis: 0 }), x)[1](ct)[0] as T;
  const x0 = x.slice([0, 0, 0], [1, 5, 2]).squeeze(0);
  const ct = uniform([3, 4, 2], 43);
  await t.step(
    "scatterAdd: batched cotangents and indices",
    () => checkVmap(scatter, [x0, idx, ct], [null, 0, 0]),
  );
  await t.step(
    "scatterAdd: batched cotangents, shared indices",
    () => checkVmap(scatter, [x0, shared, ct], [null, null, 0]),
  );
  await t.step(
    "scatterAdd: shared cotangents, batched indices",
    () => checkVmap(scatter, [x0, idx, uniform([4, 2], 44)], [null, 0, null]),
  );
  await t.step(
    "scatterAdd: all batched, outAxes 1",
    () => checkVmap(scatter, [x, idx, ct], [0, 0, 0], 1),
  );
  await t.step(
    "scatterAdd: batched indices with negative and out-of-range entries",
    () =>
      checkVmap(scatter, [
        x0,
        nb.tensor([[-1, 9, 2, 2], [0, -7, -1, 3], [4, 5, 6, -5]], { dtype: "int32" }),
        ct,
      ], [null, 0, 0]),
  );
  await t.step("scatterAdd along axis 1 with the batch at axis 1", () => {
    const f = (x: T, i: T, ct: T) => nb.vjp((x: T) => nb.take(x, i, { axis: 1 }), x)[1](ct)[0] as T;
    return checkVmap(
      f,
      [uniform([2, 5], 45), indices([3, 3], 46, -5, 7).T, uniform([2, 3, 3], 47)],
      [null, 1, 2],
    );
  });
  await t.step(
    "per-example gradients of a lookup with repeated indices",
    () =>
      checkVmap(nb.grad((x: T, i: T) => nb.take(x, i, { axis: 0 }).square().sum()), [x, idx], [
        0,
        0,
      ]),
  );
});

Deno.test("vmap of matmul", async (t) => {
  const a = uniform([3, 2, 4], 50);
  const b = uniform([3, 4, 5], 51);
  await t.step("both batched", () => checkVmap(nb.matmul, [a, b], [0, 0]));
  await t.step(
    "left batched, right shared matrix",
    () => checkVmap(nb.matmul, [a, uniform([4, 5], 52)], [0, null]),
  );
  await t.step(
    "left shared matrix, right batched",
    () => checkVmap(nb.matmul, [uniform([2, 4], 53), b], [null, 0]),
  );
  await t.step(
    "left batched at axis 1, right batched at axis 2, outAxes 1",
    () => checkVmap(nb.matmul, [a.transpose([1, 0, 2]), b.transpose([1, 2, 0])], [1, 2], 1),
  );
  await t.step(
    "batched vector @ shared matrix",
    () => checkVmap(nb.matmul, [uniform([3, 4], 54), uniform([4, 5], 55)], [0, null]),
  );
  await t.step(
    "shared matrix @ batched vector",
    () => checkVmap(nb.matmul, [uniform([2, 4], 56), uniform([3, 4], 57)], [null, 0]),
  );
  await t.step(
    "batched vectors: dot products",
    () => checkVmap(nb.matmul, [uniform([3, 4], 58), uniform([4, 3], 59)], [0, 1]),
  );
  await t.step(
    "left batched with its own batch dims, right shared 3-d",
    () => checkVmap(nb.matmul, [uniform([3, 2, 2, 4], 60), uniform([2, 4, 5], 61)], [0, null]),
  );
  await t.step(
    "outer of batched vectors",
    () => checkVmap(nb.outer, [uniform([3, 4], 62), uniform([3, 2], 63)], [0, 0]),
  );
});

Deno.test("vmap of softmax, logSoftmax, iota and constants", async (t) => {
  const x = uniform([3, 4, 5], 70, -3, 3);
  await t.step("softmax along the last axis", () => checkVmap((x) => nb.softmax(x), [x], [0]));
  await t.step(
    "softmax along axis 0, batch at axis 1",
    () => checkVmap((x) => nb.softmax(x, { axis: 0 }), [x], [1]),
  );
  await t.step(
    "logSoftmax along the last axis, outAxes 1",
    () => checkVmap((x) => nb.logSoftmax(x), [x], [2], 1),
  );
  await t.step(
    "logSoftmax along axis 0",
    () => checkVmap((x) => nb.logSoftmax(x, { axis: 0 }), [x], [0]),
  );
  await t.step(
    "iota (arange, eye) inside the mapped function",
    () => checkVmap((x) => x.mul(nb.arange(5)).add(nb.eye(4).matmul(x)), [x], [0]),
  );
  await t.step("an output that does not depend on the batch is broadcast", async () => {
    const out = nb.vmap((_x: T) => nb.tensor([1, 2]))(uniform([3, 2], 71));
    await assertAllClose(out, [[1, 2], [1, 2], [1, 2]]);
    const moved = nb.vmap((_x: T) => nb.tensor([1, 2]), { outAxes: 1 })(uniform([3, 2], 71));
    await assertAllClose(moved, [[1, 1, 1], [2, 2, 2]]);
  });
  await t.step("nested vmap of take with both batched (indices merged twice)", async () => {
    const x = uniform([2, 3, 4], 76);
    const idx = nb.tensor([[[0, 3], [1, -1], [9, 2]], [[2, 2], [0, -4], [3, 3]]], {
      dtype: "int32",
    });
    const nested = nb.vmap(nb.vmap((a: T, i: T) => nb.take(a, i)))(x, idx);
    const loop = [0, 1].map((b) =>
      nb.stack(
        [0, 1, 2].map((c) =>
          nb.take(
            x.take(b, { axis: 0 }).take(c, { axis: 0 }),
            idx.take(b, { axis: 0 }).take(c, { axis: 0 }),
          )
        ),
      )
    );
    await assertAllClose(nested, nb.stack(loop));
  });
  await t.step("grad of a vmapped take (transpose of the batched gather)", async () => {
    const idx = nb.tensor([[0, 0, 5], [1, -1, 1]], { dtype: "int32" });
    const g = nb.grad((x: T) =>
      nb.vmap((a: T, i: T) => nb.take(a, i, { axis: 0 }))(x, idx).square().sum()
    )(nb.tensor([[1, 2], [3, 4]]));
    // row 0 reads [1, 1, 2] (5 is clamped to 1); row 1 reads [4, 4, 4]
    await assertAllClose(g, [[4, 4], [0, 24]]);
  });
  await t.step("nested vmap (outer products of rows)", async () => {
    const a = uniform([3, 2], 72);
    const b = uniform([4, 2], 73);
    const f = nb.vmap((r: T) => nb.vmap((s: T) => r.mul(s).sum())(b));
    await assertAllClose(f(a), nb.matmul(a, b.T));
  });
  await t.step("pytree inputs and outputs", async () => {
    const f = (p: { w: T; b: T }) => ({ y: p.w.sum().add(p.b), z: [p.w.neg()] });
    const ws = uniform([3, 2], 74);
    const bs = uniform([3], 75);
    const out = nb.vmap(f)({ w: ws, b: bs });
    await assertAllClose(out, { y: ws.sum({ axis: 1 }).add(bs), z: [ws.neg()] });
  });
});

Deno.test("derivatives through vmapped primitives match finite differences", async (t) => {
  const xs = nb.tensor([[0.3, -0.2, 0.9], [1.1, 0.4, -0.6]], { dtype: "float64" });
  const order2 = (f: (x: T) => T, x: T) => nb.testing.checkGrads(f, [x], { order: 2 });
  await t.step("take with batched indices", () => {
    const idx = nb.tensor([[0, 2, 2], [1, -1, 0]], { dtype: "int32" });
    return order2((x) => nb.vmap((r: T, i: T) => nb.take(r, i).exp())(x, idx), xs);
  });
  await t.step(
    "prod with zeros",
    () => order2((x) => nb.vmap((r: T) => r.prod())(x), nb.tensor([[0, 2, 0], [1, 0, 3]])),
  );
  await t.step(
    "matmul against the unbatched whole",
    () => order2((x) => nb.vmap((r: T) => nb.matmul(r, x.T))(x), xs),
  );
  await t.step(
    "concat with an unbatched value, then max",
    () => order2((x) => nb.vmap((r: T) => nb.concat([r, x.sum({ axis: 0 })]).max())(x), xs),
  );
  await t.step(
    "softmax and pad along the batch at axis 1",
    () => order2((x) => nb.vmap((r: T) => nb.softmax(r.pad([[1, 0]], 0.5)), { inAxes: 1 })(x), xs),
  );
  await t.step("grad inside vmap inside grad", () =>
    nb.testing.checkGrads(
      (w: T) => nb.vmap(nb.grad((x: T) => x.mul(w).sin().sum()))(xs).square().sum(),
      [nb.tensor(0.7)],
      { order: 2 },
    ));
});
