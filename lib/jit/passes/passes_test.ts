// The optimisation passes on small programs: what each removes, merges or groups, and that
// the rewritten programs still compute the same values.

import * as nb from "../../../mod.ts";
import assert from "node:assert/strict";
import { evalProgram, type Program, type ProgramEquation } from "../../core/program.ts";
import { eliminateCommonSubexpressions } from "./cse.ts";
import { eliminateDeadCode } from "./dce.ts";
import { foldConstants } from "./fold.ts";
import { findClusters } from "./fusion.ts";
import { collapseReshapes, removeIdentities } from "./simplify.ts";
import { hoistAccumulations } from "./hoist.ts";
import { rematerialize } from "./remat.ts";
import { sinkSlices } from "./slices.ts";
import { transposeProducts } from "./transposes.ts";
import { flattenBatchedProducts } from "./batched.ts";

type T = nb.Tensor;
const names = (eqs: readonly ProgramEquation[]) => eqs.map((e) => e.prim.name);
const x = nb.tensor([0.5, -1, 2]);

Deno.test("dead code goes, and so do unused constants", () => {
  const c = nb.tensor([1, 2, 3]);
  const program = nb.makeJaxpr((x: T) => {
    x.add(c).exp(); // unused, with the only use of c
    return x.neg();
  })(x);
  assert.equal(program.consts.length, 1);
  const pruned = eliminateDeadCode(program);
  assert.deepEqual(names(pruned.equations), ["neg"]);
  assert.equal(pruned.consts.length, 0);
});

Deno.test("common subexpressions merge, commutative operands in either order", async () => {
  const program = nb.makeJaxpr((x: T) => {
    const a = x.exp().mul(x), b = x.mul(x.exp());
    return [a.add(b), x.add(1).add(x.add(1))];
  })(x);
  const merged = eliminateDeadCode(eliminateCommonSubexpressions(program));
  assert.deepEqual(names(merged.equations), ["exp", "mul", "add", "add", "add"]);
  await nb.testing.assertAllClose(evalProgram(merged, [x]), evalProgram(program, [x]));
});

Deno.test("constants fold; identities go", async () => {
  const scale = nb.tensor([2, 3, 4]);
  const program = nb.makeJaxpr((x: T) => x.mul(scale.exp().add(1)).reshape([3, 1]).reshape([3]))(x);
  const folded = foldConstants(program);
  assert.deepEqual(names(folded.equations), ["mul", "reshape", "reshape"]);
  await nb.testing.assertAllClose(evalProgram(folded, [x]), evalProgram(program, [x]));
  const identity = nb.makeJaxpr((x: T) => nb.transpose(x, [0]).astype("float32").sum({ axis: [] }))(
    x,
  );
  assert.deepEqual(names(removeIdentities(identity).equations), []);
});

Deno.test("reshapes of reshapes collapse into one, or into none", async () => {
  const m = nb.tensor([[1, 2, 3], [4, 5, 6]]);
  const program = nb.makeJaxpr((x: T) => {
    const flat = x.reshape([6]);
    const back = flat.reshape([3, 2]).reshape([2, 3]); // x's own shape again
    return [flat.reshape([6, 1]).exp(), back.add(x), flat];
  })(m);
  const simple = eliminateDeadCode(removeIdentities(collapseReshapes(program)));
  // [6] stays (an output); [6,1] now reshapes x itself; [3,2] and the way back go.
  assert.deepEqual(names(simple.equations), ["reshape", "reshape", "exp", "add"]);
  assert.deepEqual(simple.equations[1].inputs, program.inputs);
  await nb.testing.assertAllClose(evalProgram(simple, [m]), evalProgram(program, [m]));
});

Deno.test("fusion groups chains; values used later become extra outputs", () => {
  const all = () => true;
  const chain = nb.makeJaxpr((x: T) => x.exp().mul(2).tanh())(x);
  const [only] = findClusters(chain, all).values();
  assert.deepEqual(names(only.equations), ["exp", "mul", "tanh"]);
  // `e` is an output and is read by sin and by cos: sin, a side value before the root, joins
  // with it, so one kernel writes e, sin(e) and the product.
  const shared = nb.makeJaxpr((x: T) => {
    const e = x.exp().add(1);
    return [e, e.sin(), e.cos().mul(x)];
  })(x);
  const found = [...findClusters(shared, all).values()];
  assert.deepEqual(found.map((c) => names(c.equations)), [["exp", "add", "sin", "cos", "mul"]]);
  assert.equal(found[0].outputs.length, 3, "e, sin(e) and cos(e)·x are written");
  // A side value that cannot join (here a reduction) keeps its producer out: the producer's
  // value must exist before the side value is computed, which is before the root.
  const side = nb.makeJaxpr((x: T) => {
    const e = x.exp();
    return [e.sum(), e.cos().mul(x)];
  })(x);
  assert.deepEqual([...findClusters(side, all).values()].map((c) => names(c.equations)), [
    ["cos", "mul"],
  ]);
  // A diamond joins once both of its consumers have.
  const diamond = nb.makeJaxpr((x: T) => {
    const e = x.exp();
    return e.sin().add(e.cos());
  })(x);
  assert.deepEqual([...findClusters(diamond, all).values()].map((c) => names(c.equations)), [
    ["exp", "sin", "cos", "add"],
  ]);
  // A backend may bound the values one kernel reads (GPU bindings).
  assert.equal(findClusters(chain, all, () => 2).size, 1);
  assert.equal(findClusters(chain, all, () => 1).size, 0);
  // The backend decides what joins; a refused equation splits the chain.
  const split = findClusters(chain, (eq) => eq.prim.name !== "mul");
  assert.deepEqual([...split.values()].map((c) => names(c.equations)), []);
});

Deno.test("slices of elementwise results are computed from slices of the operands", async () => {
  const a = nb.tensor([[1, 2, 3, 4], [5, 6, 7, 8]]);
  const b = nb.tensor([[0.5, -1, 2, 0], [3, 1, -2, 4]]);
  // An LSTM's split: one sum read only through its four slices, each into its own chain.
  const gates = nb.makeJaxpr((a: T, b: T) => {
    const [f, g, i, o] = nb.split(a.mul(b).add(a), 4, 1);
    return f.sigmoid().mul(g.tanh()).add(i.exp().mul(o));
  })(a, b);
  const sunk = eliminateDeadCode(sinkSlices(gates));
  // Each slice takes slices of a and b, through the mul as well as the add.
  const ops = names(sunk.equations);
  assert.equal(ops.filter((n) => n === "add").length, 5);
  assert.equal(ops.filter((n) => n === "mul").length, 6);
  assert.ok(
    sunk.equations.every((e) => e.prim.name !== "slice" || sunk.inputs.includes(e.inputs[0])),
  );
  await nb.testing.assertAllClose(evalProgram(sunk, [a, b]), evalProgram(gates, [a, b]));
  // Not where the whole result is used too, nor where the slices overlap into more work.
  const used = nb.makeJaxpr((a: T, b: T) => {
    const s = a.add(b);
    return [nb.slice(s, [0, 0], [2, 2]), s.sum()];
  })(a, b);
  assert.equal(sinkSlices(used), used);
  const overlapping = nb.makeJaxpr((a: T, b: T) => {
    const s = a.add(b);
    return [nb.slice(s, [0, 0], [2, 3]).exp(), nb.slice(s, [0, 1], [2, 3]).exp()];
  })(a, b);
  assert.equal(sinkSlices(overlapping), overlapping);
});

Deno.test("residuals a few elementwise operations from others are recomputed, not stacked", async () => {
  const rnn = nb.nn.lstm(3, 4);
  const params = rnn.init(nb.random.key(0));
  const xs = nb.random.normal(nb.random.key(1), [2, 5, 3]);
  const loss = (p: nb.nn.LstmParams, x: T) => rnn.apply(p, x).hs.square().sum();
  const program = nb.makeJaxpr(nb.grad(loss))(params, xs);
  const remat = rematerialize(program);
  const args = [...nb.tree.flatten<T>(params)[0], xs];
  const loops = (p: typeof program) => p.equations.filter((e) => e.prim.name === "scan");
  const [forward, backward] = loops(program), [lean, reading] = loops(remat);
  // The derivatives of the four gates' activations and of tanh(c), and tanh(c) itself: six
  // values fewer stacked by the forward loop and read by the backward one.
  assert.equal(lean.outs.length, forward.outs.length - 6);
  assert.equal(reading.inputs.length, backward.inputs.length - 6);
  await nb.testing.assertAllClose(
    evalProgram(remat, args),
    evalProgram(program, args),
    {
      rtol: 1e-5,
    },
  );
});

Deno.test("a loop's accumulated products become one product after it", async () => {
  const rnn = nb.nn.lstm(3, 4);
  const params = rnn.init(nb.random.key(2));
  const xs = nb.random.normal(nb.random.key(3), [2, 5, 3]);
  const loss = (p: nb.nn.LstmParams, x: T) => rnn.apply(p, x).hs.square().sum();
  const program = nb.makeJaxpr(nb.grad(loss))(params, xs);
  const hoisted = hoistAccumulations(program);
  const loops = (p: typeof program) => p.equations.filter((e) => e.prim.name === "scan");
  const carried = (p: typeof program) => (loops(p)[1].params.carry as number);
  // The backward loop no longer carries the recurrent weights' gradient: a product of every
  // step's stacked rows follows it.
  assert.equal(carried(hoisted), carried(program) - 1);
  const last = hoisted.equations.indexOf(loops(hoisted)[1]);
  const after = names(hoisted.equations.slice(last + 1));
  assert.deepEqual(after.slice(0, 5), ["reshape", "reshape", "transpose", "matmul", "add"]);
  const args = [...nb.tree.flatten<T>(params)[0], xs];
  await nb.testing.assertAllClose(evalProgram(hoisted, args), evalProgram(program, args), {
    rtol: 1e-5,
    atol: 1e-6,
  });
});

Deno.test("a product the backend accepts heads a cluster, its chain an epilogue", () => {
  const elementwise = (eq: ProgramEquation) => !["matmul", "broadcast"].includes(eq.prim.name);
  const product = (eq: ProgramEquation) => eq.prim.name === "matmul";
  const x = nb.tensor([[1, 2], [3, 4]]), w = nb.tensor([[0.5, 0], [1, -1]]);
  const b = nb.tensor([0.1, 0.2]);
  const linear = nb.makeJaxpr((x: T, w: T, b: T) => x.matmul(w).add(b).tanh())(x, w, b);
  const clusters = (canHead: (eq: ProgramEquation) => boolean) =>
    [...findClusters(linear, elementwise, () => Infinity, () => false, canHead).values()]
      .map((c) => names(c.equations));
  assert.deepEqual(clusters(product), [["matmul", "add", "tanh"]]);
  assert.deepEqual(clusters(() => false), [["add", "tanh"]]);
  // One product a cluster: the second joins a cluster of its own, its operand made outside.
  const two = nb.makeJaxpr((x: T, w: T) => x.matmul(w).exp().matmul(w).neg())(x, w);
  const found = [...findClusters(two, elementwise, () => Infinity, () => false, product).values()];
  assert.deepEqual(found.map((c) => names(c.equations)).sort(), [["matmul", "exp"], [
    "matmul",
    "neg",
  ]]);
});

Deno.test("a concatenation the backend accepts ends the chain that computes its operands", () => {
  const elementwise = (eq: ProgramEquation) => !["concat", "broadcast"].includes(eq.prim.name);
  const concat = (eq: ProgramEquation) => eq.prim.name === "concat";
  const found = (program: Program) =>
    [
      ...findClusters(program, elementwise, () => Infinity, () => false, () => false, concat)
        .values(),
    ].map((c) => ({ ops: names(c.equations), outputs: c.outputs.length }));
  // Gate gradients side by side: one kernel, the exp also an output (read after the concat).
  const gates = nb.makeJaxpr((a: T, b: T) => {
    const e = a.exp();
    return [nb.concat([e.mul(b), b.neg(), e.tanh()], 1), e];
  })(nb.ones([2, 4]), nb.ones([2, 4]));
  assert.deepEqual(found(gates), [{ ops: ["exp", "mul", "neg", "tanh", "concat"], outputs: 2 }]);
  // An operand read from outside the chain stays a copy: the concat runs alone.
  const outside = nb.makeJaxpr((a: T, b: T) => nb.concat([a.exp(), b], 0))(x, x);
  assert.deepEqual(found(outside), []);
  // Operands of different shapes never make one chain.
  const ragged = nb.makeJaxpr((a: T, b: T) => nb.concat([a.exp(), b.exp()], 0))(x, nb.ones([2]));
  assert.deepEqual(found(ragged), []);
});

Deno.test("a transposed product is computed as the product of the transposed operands", async () => {
  const a = nb.tensor([[[1, 2, 0], [3, -1, 2]]]), b = nb.tensor([[[0.5, 1], [2, 0], [-1, 1]]]);
  const f = (a: T, b: T) => nb.transpose(a.matmul(b), [0, 2, 1]).exp();
  const program = nb.makeJaxpr(f)(a, b);
  const rewritten = transposeProducts(program);
  assert.deepEqual(names(rewritten.equations), ["transpose", "transpose", "matmul", "exp"]);
  await nb.testing.assertAllClose(evalProgram(rewritten, [a, b])[0] as T, f(a, b));
  // A product also read as it is stays, and so does its transpose.
  const both = nb.makeJaxpr((a: T, b: T) => {
    const p = a.matmul(b);
    return [nb.transpose(p, [0, 2, 1]), p];
  })(a, b);
  assert.equal(transposeProducts(both), both);
  // Other permutations are no product's transpose.
  const batch = nb.makeJaxpr((a: T, b: T) => nb.transpose(a.matmul(b), [1, 0, 2]))(a, b);
  assert.equal(transposeProducts(batch), batch);
});

Deno.test("batched products over one matrix, or summed over batches, become one product", async () => {
  const key = nb.random.key(3);
  const [k1, k2, k3] = nb.random.split(key, 3);
  const xs = nb.random.normal(k1, [4, 3, 5]), w = nb.random.normal(k2, [5, 2]);
  const gs = nb.random.normal(k3, [4, 3, 2]);
  const shapes = (p: Program) =>
    p.equations.filter((e) => e.prim.name === "matmul").map((e) =>
      e.inputs.map((v) => v.aval.shape)
    );
  const check = async (f: (...args: T[]) => T, args: T[], want: number[][][]) => {
    const program = nb.makeJaxpr(f)(...args);
    const flat = flattenBatchedProducts(program);
    assert.deepEqual(shapes(flat), want);
    await nb.testing.assertAllClose(evalProgram(flat, args)[0] as T, f(...args), {
      rtol: 1e-5,
      atol: 1e-6,
    });
  };
  // Every batch times w, w broadcast or its transpose broadcast.
  await check((xs: T, w: T) => xs.matmul(w), [xs, w], [[[12, 5], [5, 2]]]);
  await check((xs: T, w: T) => xs.matmul(nb.transpose(nb.broadcastTo(w.T, [4, 2, 5]), [0, 2, 1])), [
    xs,
    w,
  ], [[
    [12, 5],
    [5, 2],
  ]]);
  // Σ over batches of xᵀ·g: the transpose of a stored x is read as a view; and of x·h.
  await check((xs: T, gs: T) => nb.transpose(xs, [0, 2, 1]).matmul(gs).sum({ axis: 0 }), [xs, gs], [
    [[5, 12], [12, 2]],
  ]);
  const hs = nb.random.normal(k3, [4, 5, 2]);
  await check((xs: T, hs: T) => xs.matmul(hs).sum({ axis: 0 }), [xs, hs], [[[3, 20], [20, 2]]]);
  // A sum over other axes, or a product read besides its sum, stays as it is.
  await check((xs: T, hs: T) => xs.matmul(hs).sum({ axis: 1 }), [xs, hs], [[[4, 3, 5], [4, 5, 2]]]);
  await check(
    (xs: T, hs: T) => {
      const p = xs.matmul(hs);
      return p.sum({ axis: 0 }).add(p.mean({ axis: 0 }));
    },
    [xs, hs],
    [[[4, 3, 5], [4, 5, 2]]],
  );
});
