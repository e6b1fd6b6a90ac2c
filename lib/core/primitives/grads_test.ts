// Every primitive's JVP and transpose rules, exercised through the public ops and checked
// against central finite differences in float64 (both modes, up to second order), plus the
// values of the rules at points where the answer is known by hand.

import * as nb from "../../../mod.ts";
import assert from "node:assert/strict";
import { primitiveNames } from "../primitive.ts";

const { assertAllClose, checkGrads } = nb.testing;
type T = nb.Tensor;

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

const { random } = nb;

/** Uniform float64 values in [lo, hi), from the library's own seeded generator. */
function uniform(shape: number[], seed: number, lo = -1, hi = 1): T {
  return random.uniform(random.key(seed), shape, { minval: lo, maxval: hi, dtype: "float64" });
}

/** Values with |x| in [0.3, 1.3) and a random sign: far from the kink of abs/relu/sign at 0. */
function awayFromZero(shape: number[], seed: number): T {
  const [kMagnitude, kSign] = random.split(random.key(seed));
  const magnitude = random.uniform(kMagnitude, shape, {
    minval: 0.3,
    maxval: 1.3,
    dtype: "float64",
  });
  return nb.where(random.bernoulli(kSign, 0.5, shape), magnitude.neg(), magnitude);
}

/** Pairwise distinct values, at least 0.25 apart, in random order: no ties for max/min. */
function distinct(shape: number[], seed: number): T {
  const [kOrder, kJitter] = random.split(random.key(seed));
  const n = sizeOf(shape);
  const jitter = random.uniform(kJitter, [n], { maxval: 0.1, dtype: "float64" });
  const ranks = random.permutation(kOrder, n).astype("float64");
  return ranks.sub(n / 2).mul(0.35).add(jitter).reshape(shape);
}

const ints = (xs: number[] | number[][]): T => nb.tensor(xs, { dtype: "int32" });
const order2 = (f: (...xs: T[]) => unknown, args: T[]): Promise<void> =>
  checkGrads(f, args, { order: 2 });

Deno.test("unary primitives: gradients up to order 2 match finite differences", async (t) => {
  const cases: [string, (x: T) => T, T][] = [
    ["neg", (x) => nb.neg(x), uniform([2, 3], 1)],
    ["exp", (x) => nb.exp(x), uniform([2, 3], 2)],
    ["log", (x) => nb.log(x), uniform([2, 3], 3, 0.5, 2)],
    ["sqrt", (x) => nb.sqrt(x), uniform([2, 3], 4, 0.5, 2)],
    ["sin", (x) => nb.sin(x), uniform([2, 3], 5, -2, 2)],
    ["cos", (x) => nb.cos(x), uniform([2, 3], 6, -2, 2)],
    ["tanh", (x) => nb.tanh(x), uniform([2, 3], 7, -2, 2)],
    ["sigmoid", (x) => nb.sigmoid(x), uniform([2, 3], 8, -3, 3)],
    ["abs", (x) => nb.abs(x), awayFromZero([2, 3], 9)],
    ["sign (zero derivative)", (x) => nb.sign(x), awayFromZero([2, 3], 10)],
    ["sign times x²", (x) => nb.sign(x).mul(x.square()), awayFromZero([2, 3], 11)],
    ["log1p", (x) => nb.log1p(x), uniform([2, 3], 12, -0.5, 2)],
    ["expm1", (x) => nb.expm1(x), uniform([2, 3], 13)],
    ["square", (x) => nb.square(x), uniform([2, 3], 14)],
    ["relu (select, gt)", (x) => nb.relu(x), awayFromZero([2, 3], 15)],
    ["clip (max, min)", (x) => nb.clip(x, -0.5, 0.6), distinct([7], 16).mul(0.9)],
    ["composition", (x) => nb.tanh(nb.exp(x.sin()).mul(x)), uniform([4], 18)],
  ];
  for (const [name, f, x] of cases) {
    await t.step(name, () => order2(f, [x]));
  }
});

Deno.test("binary primitives: gradients of both operands with broadcasting", async (t) => {
  const a = uniform([3, 1], 20);
  const b = uniform([4], 21);
  await t.step("add", () => order2(nb.add, [a, b]));
  await t.step("sub", () => order2(nb.sub, [a, b]));
  await t.step("mul", () => order2(nb.mul, [a, b]));
  await t.step("div", () => order2(nb.div, [a, uniform([4], 22, 0.5, 2)]));
  await t.step(
    "div by a broadcast denominator",
    () => order2(nb.div, [b, uniform([3, 1], 23, 0.5, 2)]),
  );
  await t.step("pow (base and exponent)", () => order2(nb.pow, [uniform([3, 1], 24, 0.5, 2), b]));
  await t.step(
    "pow with a constant integer exponent on negative bases",
    () => order2((x) => nb.pow(x, 3), [uniform([5], 25, -2, -0.5)]),
  );
  await t.step("pow with a constant base", () => order2((y) => nb.pow(2, y), [b]));
  await t.step(
    "maximum",
    () => order2(nb.maximum, [distinct([3, 1], 26), distinct([4], 27).add(0.1)]),
  );
  await t.step(
    "minimum",
    () => order2(nb.minimum, [distinct([3, 1], 28), distinct([4], 29).add(0.1)]),
  );
  await t.step(
    "mixed dtypes: float64 with a float32 constant",
    () => order2((x) => x.mul(nb.tensor([1.5, -2, 0.25, 3])), [b]),
  );
  await t.step("where (select) with broadcast condition and branches", () => {
    const cond = nb.tensor([[true], [false], [true]]);
    return order2((x, y) => nb.where(cond, x, y.mul(2)), [b, uniform([3, 4], 30)]);
  });
  await t.step(
    "comparisons feed where without a derivative of their own",
    () => order2((x) => nb.where(x.greater(0.1), x.sin(), x.cos()), [distinct([6], 31)]),
  );
  await t.step("all six comparisons (eq ne lt le gt ge) as masks", () => {
    const c = 0.05;
    const masks = (
      x: T,
    ) => [x.equal(c), x.notEqual(c), x.less(c), x.lessEqual(c), x.greater(c), x.greaterEqual(c)];
    return order2(
      (x) =>
        masks(x).reduce(
          (acc: T, m, i) => acc.add(nb.where(m, x.mul(i + 1), x.square())),
          nb.zerosLike(x),
        ),
      [distinct([6], 33)],
    );
  });
  await t.step("convert: int32 operands carry no tangent", () => {
    const n = ints([1, 2, 3]);
    return order2((x, k) => x.mul(k.astype("float64")).square(), [uniform([3], 32), n]);
  });
});

Deno.test("reduction primitives: several axes, keepdims, zeros in products", async (t) => {
  const x = uniform([2, 3, 4], 40);
  const d = distinct([2, 3, 4], 41);
  await t.step("sum over all", () => order2((x) => x.sum(), [x]));
  await t.step("sum over axes [0, 2]", () => order2((x) => x.sum({ axis: [0, 2] }), [x]));
  await t.step(
    "sum over -1 with keepdims",
    () => order2((x) => x.sum({ axis: -1, keepdims: true }), [x]),
  );
  await t.step("mean over [1, 2]", () => order2((x) => x.mean({ axis: [1, 2] }), [x]));
  await t.step("var over axis 0", () => order2((x) => x.var({ axis: 0 }), [x]));
  await t.step("max over all", () => order2((x) => x.max(), [d]));
  await t.step("max over axis 1", () => order2((x) => x.max({ axis: 1 }), [d]));
  await t.step(
    "max over axes [0, 2] with keepdims",
    () => order2((x) => x.max({ axis: [0, 2], keepdims: true }), [d]),
  );
  await t.step("min over axes [1, 2]", () => order2((x) => x.min({ axis: [1, 2] }), [d]));
  await t.step("min over axis 0", () => order2((x) => x.min({ axis: 0 }), [d]));
  const p = uniform([2, 3, 4], 42, 0.5, 1.5).mul(awayFromZero([2, 3, 4], 43).sign());
  await t.step("prod without zeros, axis 1", () => order2((x) => x.prod({ axis: 1 }), [p]));
  await t.step(
    "prod without zeros, axes [0, 2]",
    () => order2((x) => x.prod({ axis: [0, 2] }), [p]),
  );
  await t.step(
    "prod without zeros, all",
    () => order2((x) => x.prod(), [uniform([5], 44, 0.5, 1.5)]),
  );
  await t.step("prod with one zero", () => order2((x) => x.prod(), [nb.tensor([1.5, 0, -0.7, 2])]));
  await t.step(
    "prod with one zero per row",
    () => order2((x) => x.prod({ axis: 1 }), [nb.tensor([[1.5, 0, -0.7], [0.5, 2, 0], [1, 2, 3]])]),
  );
  await t.step(
    "prod with two zeros (second derivative between them is not zero)",
    () => order2((x) => x.prod(), [nb.tensor([1.5, 0, -0.7, 0, 2])]),
  );
  await t.step(
    "logsumexp over axis 1 (stopGradient of the max inside)",
    () => order2((x) => x.logsumexp({ axis: 1 }), [x]),
  );
});

Deno.test("movement primitives: reshape, broadcast, transpose, slice, pad, concat", async (t) => {
  const x = uniform([2, 3, 4], 50);
  await t.step("reshape", () => order2((x) => x.reshape([4, -1]).sin(), [x]));
  await t.step(
    "expandDims and squeeze",
    () => order2((x) => x.expandDims(1).sin().squeeze(1), [x]),
  );
  await t.step(
    "broadcastTo (new and stretched axes)",
    () => order2((x) => x.broadcastTo([2, 3, 4]).sin(), [uniform([3, 1], 51)]),
  );
  await t.step(
    "transpose with a permutation",
    () => order2((x) => x.transpose([2, 0, 1]).sin(), [x]),
  );
  await t.step(
    ".T",
    () => order2((x) => x.T.mul(nb.arange(12).reshape([4, 3])), [uniform([3, 4], 52)]),
  );
  await t.step("slice", () => order2((x) => x.slice([0, 1, 1], [2, 2, 2]).exp(), [x]));
  await t.step(
    "pad with a value",
    () =>
      order2((x) => x.pad([[1, 0], [0, 2], [1, 1]], 3).mul(x.pad([[0, 1], [2, 0], [1, 1]])), [x]),
  );
  await t.step("concat of three along axis 1", () =>
    order2(
      (a, b, c) => nb.concat([a, b.sin(), c], 1).square(),
      [uniform([2, 1, 4], 53), uniform([2, 3, 4], 54), uniform([2, 2, 4], 55)],
    ));
  await t.step(
    "concat with a constant",
    () => order2((a) => nb.concat([nb.ones([1, 3]), a], 0).square(), [uniform([2, 3], 56)]),
  );
  await t.step(
    "stack along axis 1",
    () => order2((a, b) => nb.stack([a, b.exp()], 1), [x, x.mul(0.5)]),
  );
  await t.step("split and recombine", () =>
    order2((x) => {
      const [a, b] = nb.split(x, [1], 1);
      return a.mul(b.sum({ axis: 1, keepdims: true }));
    }, [x]));
});

Deno.test("indexing primitives: gather and its transpose scatterAdd", async (t) => {
  const x = uniform([4, 3], 60);
  await t.step(
    "take along axis 0 with repeated indices",
    () => order2((x) => nb.take(x, ints([2, 0, 2, 2]), { axis: 0 }).square(), [x]),
  );
  await t.step(
    "take along axis 1 with a 2-d index tensor",
    () => order2((x) => nb.take(x, ints([[0, 2], [2, 2]]), { axis: 1 }).sin(), [x]),
  );
  await t.step(
    "take of the flattened tensor",
    () => order2((x) => nb.take(x, ints([11, 0, 5, 5])).exp(), [x]),
  );
  await t.step(
    "gather of rows and columns",
    () => order2((x) => nb.gather(x, [ints([0, 1, 3, 3]), ints([2, 0, 1, 1])]).square(), [x]),
  );
  await t.step(
    "takeAlongAxis",
    () => order2((x) => nb.takeAlongAxis(x, ints([[1], [0], [2], [2]]), 1).exp(), [x]),
  );
  await t.step(
    "takeAlongAxis of the argmax (argmax has no derivative)",
    () =>
      order2((x) => nb.takeAlongAxis(x, x.argmax({ axis: 0, keepdims: true }), 0), [
        distinct([4, 3], 61),
      ]),
  );
  await t.step("repeated indices accumulate their cotangents", async () => {
    const g = nb.grad((x: T) => nb.take(x, [0, 0, 2, 0]).sum())(nb.tensor([1, 2, 3]));
    await assertAllClose(g, [3, 0, 1]);
  });
  await t.step(
    "negative and out-of-range indices: the clamped element gets the gradient",
    async () => {
      const x = nb.tensor([1, 2, 3]);
      const f = (x: T) => nb.take(x, [-1, 7, 0]).mul(nb.tensor([1, 10, 100])).sum();
      assert.equal(f(x).item(), 3 + 30 + 100);
      await assertAllClose(nb.grad(f)(x), [100, 0, 11]);
      await order2((x) => nb.take(x, [-1, 7, 0, -5]).square(), [x]);
    },
  );
  await t.step("oneHot is constant: zero gradient through a product", async () => {
    const g = nb.grad((x: T) => nb.oneHot(ints([1, 0]), 3).mul(x).sum())(uniform([2, 3], 62));
    await assertAllClose(g, [[0, 1, 0], [1, 0, 0]]);
  });
});

Deno.test("matmul: plain, batched, broadcast batches and 1-d operands", async (t) => {
  await t.step(
    "[2,3] @ [3,4]",
    () => order2(nb.matmul, [uniform([2, 3], 70), uniform([3, 4], 71)]),
  );
  await t.step(
    "[2,3,4] @ [4,2]",
    () => order2(nb.matmul, [uniform([2, 3, 4], 72), uniform([4, 2], 73)]),
  );
  await t.step(
    "[2,1,3,4] @ [3,4,2]",
    () => order2(nb.matmul, [uniform([2, 1, 3, 4], 74), uniform([3, 4, 2], 75)]),
  );
  await t.step("[4] @ [4,3]", () => order2(nb.matmul, [uniform([4], 76), uniform([4, 3], 77)]));
  await t.step("[3,4] @ [4]", () => order2(nb.matmul, [uniform([3, 4], 78), uniform([4], 79)]));
  await t.step("[4] @ [4]", () => order2(nb.matmul, [uniform([4], 80), uniform([4], 81)]));
  await t.step(
    "matmul of a function of itself",
    () => order2((a) => a.matmul(a.T.sin()), [uniform([2, 3], 82)]),
  );
  await t.step(
    "dot with a batched right operand",
    () => order2(nb.dot, [uniform([2, 3], 83), uniform([2, 3, 2], 84)]),
  );
  await t.step("outer", () => order2(nb.outer, [uniform([3], 85), uniform([2], 86)]));
});

Deno.test("softmax and logSoftmax primitives", async (t) => {
  const x = uniform([3, 4], 90, -2, 2);
  await t.step("softmax along the last axis", () => order2((x) => nb.softmax(x), [x]));
  await t.step("softmax along axis 0", () => order2((x) => nb.softmax(x, { axis: 0 }), [x]));
  await t.step("logSoftmax along the last axis", () => order2((x) => nb.logSoftmax(x), [x]));
  await t.step("logSoftmax along axis 0", () => order2((x) => nb.logSoftmax(x, { axis: 0 }), [x]));
  await t.step(
    "cross-entropy of softmax picks",
    () =>
      order2((x) =>
        nb.gather(nb.logSoftmax(x), [
          nb.arange(3, undefined, 1, { dtype: "int32" }),
          ints([1, 3, 0]),
        ]).sum(), [x]),
  );
});

Deno.test("rule values at known points", async (t) => {
  const d = (f: (x: T) => T, at: nb.NestedArray) => nb.grad((x: T) => f(x).sum())(nb.tensor(at));
  await t.step("tanh'(0) = 1, sigmoid'(0) = 1/4, sin'(0) = 1, cos'(0) = 0", async () => {
    await assertAllClose(d(nb.tanh, 0), 1);
    await assertAllClose(d(nb.sigmoid, 0), 0.25);
    await assertAllClose(d(nb.sin, 0), 1);
    await assertAllClose(d(nb.cos, 0), 0);
  });
  await t.step(
    "exp'(0) = 1, log'(2) = 1/2, sqrt'(4) = 1/4, log1p'(0) = 1, expm1'(0) = 1",
    async () => {
      await assertAllClose(d(nb.exp, 0), 1);
      await assertAllClose(d(nb.log, 2), 0.5);
      await assertAllClose(d(nb.sqrt, 4), 0.25);
      await assertAllClose(d(nb.log1p, 0), 1);
      await assertAllClose(d(nb.expm1, 0), 1);
    },
  );
  await t.step("relu'(0) = 0, relu'(±2) = 1, 0", async () => {
    await assertAllClose(d(nb.relu, [-2, 0, 2]), [0, 0, 1]);
  });
  await t.step("|x|' is sign(x), 0 at 0; sign' is 0", async () => {
    await assertAllClose(d(nb.abs, [-2, 0, 3]), [-1, 0, 1]);
    await assertAllClose(d(nb.sign, [-2, 0, 3]), [0, 0, 0]);
  });
  await t.step("second derivatives: tanh''(0) = 0, exp''(1) = e, sin''(π/2) = -1", async () => {
    const dd = (f: (x: T) => T, at: number) =>
      nb.grad(nb.grad(f))(nb.tensor(at, { dtype: "float64" }));
    await assertAllClose(dd(nb.tanh, 0), 0);
    await assertAllClose(dd(nb.exp, 1), Math.E);
    await assertAllClose(dd(nb.sin, Math.PI / 2), -1);
  });
  await t.step(
    "x^y: d/dx x³ at 0 is 0; d/dy 0^y is taken as 0; d/dy 2^y at 3 is 8 ln 2",
    async () => {
      await assertAllClose(d((x) => x.pow(3), 0), 0);
      await assertAllClose(nb.grad((y: T) => nb.pow(0, y))(nb.tensor(2)), 0);
      await assertAllClose(nb.grad((y: T) => nb.pow(2, y))(nb.tensor(3)), 8 * Math.LN2);
      await assertAllClose(nb.grad((x: T) => x.pow(0.5))(nb.tensor(4)), 0.25);
    },
  );
  await t.step(
    "ties: maximum(x, x)' = 1 (half to each side); maximum(x, c) at x = c is 1/2",
    async () => {
      await assertAllClose(d((x) => nb.maximum(x, x), [1, -2]), [1, 1]);
      await assertAllClose(d((x) => nb.maximum(x, 1), [1, 0, 2]), [0.5, 0, 1]);
      await assertAllClose(d((x) => nb.minimum(x, 1), [1, 0, 2]), [0.5, 1, 0]);
    },
  );
  await t.step("reduceMax/reduceMin share the gradient between tied maxima", async () => {
    await assertAllClose(d((x) => x.max(), [1, 3, 3, 0]), [0, 0.5, 0.5, 0]);
    await assertAllClose(d((x) => x.min({ axis: 1 }), [[1, 1], [0, 2]]), [[0.5, 0.5], [1, 0]]);
  });
  await t.step("prod: the product of the others, with zeros", async () => {
    await assertAllClose(d((x) => x.prod(), [2, 3, 4]), [12, 8, 6]);
    await assertAllClose(d((x) => x.prod(), [2, 0, 4]), [0, 8, 0]);
    await assertAllClose(d((x) => x.prod(), [2, 0, 0]), [0, 0, 0]);
    const h = nb.hessian((x: T) => x.prod())(nb.tensor([2, 0, 0, 3]));
    await assertAllClose(h, [[0, 0, 0, 0], [0, 0, 6, 0], [0, 6, 0, 0], [0, 0, 0, 0]]);
  });
  await t.step("softmax: Jacobian diag(p) - p pᵀ at uniform logits", async () => {
    const j = nb.jacrev((x: T) => nb.softmax(x))(nb.zeros([2]));
    await assertAllClose(j, [[0.25, -0.25], [-0.25, 0.25]]);
    const jl = nb.jacfwd((x: T) => nb.logSoftmax(x))(nb.zeros([2]));
    await assertAllClose(jl, [[0.5, -0.5], [-0.5, 0.5]]);
  });
  await t.step(
    "convert: float32 → float64 passes gradients back as float32; → int32 blocks them",
    async () => {
      const x = nb.tensor([1.5, -2.25]);
      const g = nb.grad((x: T) => x.astype("float64").square().sum())(x);
      assert.equal(g.dtype, "float32");
      await assertAllClose(g, [3, -4.5]);
      const h = nb.grad((x: T) => x.astype("int32").astype("float32").mul(x).sum())(x);
      await assertAllClose(h, [1, -2]);
      const [, tangent] = nb.jvp((x: T) => x.astype("float64"), [x], [nb.tensor([1, 2])]);
      assert.equal(tangent.dtype, "float64");
      await assertAllClose(tangent, [1, 2]);
    },
  );
  await t.step("stopGradient: zero derivative, value unchanged", async () => {
    const f = (x: T) => nb.stopGradient(x).mul(x);
    assert.equal(f(nb.tensor(3)).item(), 9);
    await assertAllClose(nb.grad(f)(nb.tensor(3)), 3);
    await assertAllClose(nb.grad(nb.grad(f))(nb.tensor(3)), 0);
  });
});

// Where each primitive's rules are exercised; a new primitive must be added here with tests.
const COVERED: Record<string, string> = {
  neg: "unary",
  exp: "unary",
  log: "unary",
  sqrt: "unary",
  sin: "unary",
  cos: "unary",
  tanh: "unary",
  sigmoid: "unary",
  abs: "unary",
  sign: "unary",
  log1p: "unary",
  expm1: "unary",
  add: "binary",
  sub: "binary",
  mul: "binary",
  div: "binary",
  pow: "binary",
  max: "binary",
  min: "binary",
  eq: "comparisons",
  ne: "comparisons",
  lt: "comparisons",
  le: "comparisons",
  gt: "comparisons",
  ge: "comparisons",
  select: "where",
  convert: "convert + known points",
  stopGradient: "known points",
  reduceSum: "reductions",
  reduceMax: "reductions",
  reduceMin: "reductions",
  reduceProd: "reductions",
  argmax: "takeAlongAxis of the argmax",
  argmin: "vmap_test",
  reshape: "movement",
  broadcast: "movement",
  transpose: "movement",
  slice: "movement",
  pad: "movement",
  concat: "movement",
  gather: "indexing",
  scatterAdd: "indexing (transpose of gather, order 2)",
  matmul: "matmul",
  softmax: "softmax",
  logSoftmax: "softmax",
  iota: "arange in cross-entropy",
  customLin: "transforms_test customVjp, testing_test",
};

Deno.test("every registered primitive is covered by these tests", () => {
  const missing = primitiveNames().filter((name) => !(name in COVERED));
  assert.deepEqual(missing, [], `primitives without rule tests: ${missing.join(", ")}`);
});
