import assert from "node:assert/strict";
import * as nb from "../../mod.ts";
import { assertAllClose, checkGrads } from "../testing.ts";

type T = nb.Tensor;

// Two branches of different computations (and so different residuals in reverse mode): a
// matrix product through tanh, and an elementwise product through sin and exp. `w` is
// captured from the enclosing function by one branch, `v` by the other.
const branchesOf = (w: T, v: T) => ({
  yes: (x: T) => x.matmul(w).tanh().sum(),
  no: (x: T) => x.sin().mul(v).exp().sum(),
});
const viaCond = (p: boolean) => (x: T, w: T, v: T) => {
  const { yes, no } = branchesOf(w, v);
  return nb.cond(p, yes, no, x);
};
const chosen = (p: boolean) => (x: T, w: T, v: T) => {
  const { yes, no } = branchesOf(w, v);
  return p ? yes(x) : no(x);
};
const inputs = (dtype: "float32" | "float64" = "float32"): [T, T, T] => [
  nb.tensor([0.3, -0.8, 0.5], { dtype }),
  nb.tensor([[0.5, -0.2], [0.1, 0.3], [0.2, -0.6]], { dtype }),
  nb.tensor([1.5, -0.5, 0.25], { dtype }),
];

// Three branches for switchCase, with a pytree of operands and of results.
const three = [
  ({ a, b }: { a: T; b: T }) => ({ s: a.add(b), p: a.mul(b).sin() }),
  ({ a, b }: { a: T; b: T }) => ({ s: a.sub(b).square(), p: a.exp() }),
  ({ a, b }: { a: T; b: T }) => ({ s: a.mul(2), p: b.tanh().mul(a) }),
];

Deno.test("cond: values", async (t) => {
  const x = nb.tensor([1, -2, 3]);
  const twice = (x: T) => x.mul(2);
  const negated = (x: T) => x.neg();
  await t.step("both branches, for every kind of pred", async () => {
    for (
      const p of [true, 1, -0.5, nb.tensor(true), nb.tensor(2.5), nb.tensor(3, { dtype: "int32" })]
    ) {
      assert.deepEqual(await nb.cond(p, twice, negated, x).toArray(), [2, -4, 6], String(p));
    }
    for (const p of [false, 0, nb.tensor(false), nb.tensor(0), nb.tensor(0, { dtype: "int32" })]) {
      assert.deepEqual(await nb.cond(p, twice, negated, x).toArray(), [-1, 2, -3], String(p));
    }
  });
  await t.step("a pred computed from the operands", () => {
    const f = (y: T) => nb.cond(y.sum().greater(0), (y: T) => y.max(), (y: T) => y.min(), y);
    assert.equal(f(x).item(), 3);
    assert.equal(f(x.neg()).item(), -3);
  });
  await t.step("switchCase picks its branch; out-of-range indices clamp", async () => {
    const ops = { a: nb.tensor([1, 2]), b: nb.tensor([3, -1]) };
    const expected = [
      { s: [4, 1], p: [Math.sin(3), Math.sin(-2)] },
      { s: [4, 9], p: [Math.exp(1), Math.exp(2)] },
      { s: [2, 4], p: [Math.tanh(3), 2 * Math.tanh(-1)] },
    ];
    for (const [index, k] of [[0, 0], [1, 1], [2, 2], [-3, 0], [7, 2]]) {
      await assertAllClose(nb.switchCase(index, three, ops), expected[k]);
      const i = nb.tensor(index, { dtype: "int32" });
      await assertAllClose(nb.switchCase(i, three, ops), expected[k]);
    }
    await assertAllClose(nb.switchCase(2 ** 40, three, ops), expected[2]);
  });
  await t.step("pytrees of operands and results, several operands, none", async () => {
    const [s, { d }] = nb.cond(
      false,
      (a: T, b: { c: T }) => [a.add(b.c), { d: b.c }] as const,
      (a: T, b: { c: T }) => [a.sub(b.c), { d: a }] as const,
      nb.tensor(5),
      { c: nb.tensor(2) },
    );
    assert.deepEqual([s.item(), d.item()], [3, 5]);
    assert.equal(nb.cond(true, () => nb.tensor(1), () => nb.tensor(2)).item(), 1);
    assert.equal(nb.cond(true, () => null, () => null), null);
  });
  await t.step("operands captured from closures, by one branch, the other, or both", async () => {
    const w = nb.tensor([10, 20, 30]);
    const v = nb.tensor(0.5);
    const f = (p: boolean) => nb.cond(p, (y: T) => y.mul(w).add(v), (y: T) => y.mul(v).sub(w), x);
    assert.deepEqual(await f(true).toArray(), [10.5, -39.5, 90.5]);
    assert.deepEqual(await f(false).toArray(), [-9.5, -21, -28.5]);
    // captured values are operands of the one equation
    const program = nb.makeJaxpr((y: T) =>
      nb.cond(y.sum().greater(0), (z: T) => z.mul(w), (z: T) => z.add(w).mul(v), y)
    )(x);
    const eq = program.equations.find((e) => e.prim.name === "cond")!;
    assert.equal(eq.inputs.length, 1 + 2 + 1); // index, w and v once each, x
  });
  await t.step("every branch is staged, once, whichever runs", () => {
    const calls = [0, 0, 0];
    const counted = [0, 1, 2].map((k) => (y: T) => {
      calls[k]++;
      return y.add(k);
    });
    assert.equal(nb.switchCase(1, counted, nb.tensor(1)).item(), 2);
    assert.deepEqual(calls, [1, 1, 1]);
    const program = nb.makeJaxpr((y: T) => nb.switchCase(0, counted, y))(nb.tensor(1));
    assert.deepEqual(program.equations.map((e) => e.prim.name), ["cond"]);
  });
});

Deno.test("cond: derivatives", async (t) => {
  await t.step("grad and jvp equal the chosen branch's", async () => {
    const args = inputs();
    for (const p of [true, false]) {
      for (const argnums of [0, 1, 2]) {
        const a = nb.grad(viaCond(p), { argnums })(...args);
        const b = nb.grad(chosen(p), { argnums })(...args);
        await assertAllClose(a, b, { rtol: 1e-6 });
      }
      const dirs = args.map((a) => nb.onesLike(a).mul(0.3));
      const a = nb.jvp(viaCond(p), args, dirs);
      const b = nb.jvp(chosen(p), args, dirs);
      await assertAllClose(a, b, { rtol: 1e-6 });
    }
    // unchosen branches' values do not leak into the gradient
    const [x, w, v] = args;
    assert.equal(nb.grad(viaCond(true), { argnums: 2 })(x, w, v).abs().sum().item(), 0);
    assert.equal(nb.grad(viaCond(false), { argnums: 1 })(x, w, v).abs().sum().item(), 0);
  });
  await t.step("checkGrads at order 2, both modes, float64, each branch", async () => {
    for (const p of [true, false]) await checkGrads(viaCond(p), inputs("float64"), { order: 2 });
  });
  await t.step(
    "switchCase: checkGrads at order 2 for each branch, the index an argument",
    async () => {
      const f = (i: T, a: T, b: T) => nb.switchCase(i, three, { a, b });
      const a = nb.tensor([0.4, -1.1], { dtype: "float64" });
      const b = nb.tensor([0.7, 0.2], { dtype: "float64" });
      for (const k of [0, 1, 2]) {
        await checkGrads(f, [nb.tensor(k, { dtype: "int32" }), a, b], { order: 2 });
      }
    },
  );
  await t.step("a pred that depends on the argument, away from the switch", async () => {
    const f = (x: T) =>
      nb.cond(x.greater(0), (x: T) => x.square().mul(x), (x: T) => x.sin().mul(2), x);
    await checkGrads(f, [nb.tensor(0.7, { dtype: "float64" })], { order: 2 });
    await checkGrads(f, [nb.tensor(-0.4, { dtype: "float64" })], { order: 2 });
    assert.ok(Math.abs(nb.grad(f)(nb.tensor(0.7)).item() - 3 * 0.49) < 1e-6);
    assert.ok(Math.abs(nb.grad(f)(nb.tensor(-0.4)).item() - 2 * Math.cos(-0.4)) < 1e-6);
  });
  await t.step("a branch without a tangent; integer results beside float ones", async () => {
    const f = (p: boolean) => (x: T) =>
      nb.cond(p, (x: T) => ({ y: x.mul(x).mul(x), n: x.astype("int32") }), () => ({
        y: nb.tensor(7, { dtype: x.dtype }),
        n: nb.tensor(4, { dtype: "int32" }),
      }), x);
    const x = nb.tensor(1.5);
    assert.ok(Math.abs(nb.grad((x: T) => f(true)(x).y)(x).item() - 3 * 2.25) < 1e-5);
    assert.equal(nb.grad((x: T) => f(false)(x).y)(x).item(), 0);
    const [out, tangent] = nb.jvp(f(true), [x], [nb.tensor(2)]);
    assert.deepEqual([out.y.item(), out.n.item()], [3.375, 1]);
    assert.ok(Math.abs(tangent.y.item() - 2 * 3 * 2.25) < 1e-5);
    await checkGrads((x: T) => f(true)(x).y, [nb.tensor(0.8, { dtype: "float64" })], { order: 2 });
  });
  await t.step("results that depend on no operand have zero gradient", () => {
    const f = (x: T) => nb.cond(x.greater(0), () => nb.tensor(1), () => nb.tensor(-1));
    const g = (x: T) => f(x).mul(x);
    assert.equal(nb.grad(g)(nb.tensor(2)).item(), 1);
    assert.equal(nb.grad(g)(nb.tensor(-2)).item(), -1);
  });
});

Deno.test("cond: vmap", async (t) => {
  const [, w, v] = inputs();
  const xs = nb.tensor([[0.3, -0.8, 0.5], [1.0, 0.2, -0.4], [-0.6, 0.1, 0.9]]);
  const row = (m: T, i: number) => m.slice([i, 0], [1, m.shape[1]]).reshape([m.shape[1]]);
  const rows = (m: T) => [0, 1, 2].map((i) => row(m, i));
  await t.step("an unbatched pred: one branch for the whole batch", async () => {
    for (const p of [true, false]) {
      const batched = nb.vmap((x: T) => viaCond(p)(x, w, v))(xs);
      const each = rows(xs).map((x) => viaCond(p)(x, w, v));
      await assertAllClose(batched, nb.stack(each), { rtol: 1e-6 });
    }
  });
  await t.step("an unbatched pred where only one branch varies over the batch", async () => {
    const c = nb.tensor([9, 9, 9]);
    for (const p of [true, false]) {
      const batched = nb.vmap((x: T) => nb.cond(p, (y: T) => y.mul(2), () => c, x))(xs);
      const each = rows(xs).map((x) => (p ? x.mul(2) : c));
      await assertAllClose(batched, nb.stack(each));
    }
  });
  await t.step("a batched pred: each example takes its own branch", async () => {
    const f = (x: T) => nb.cond(x.sum().greater(0), (y: T) => y.exp(), (y: T) => y.mul(-3), x);
    const each = rows(xs).map((x) => (x.sum().item() > 0 ? x.exp() : x.mul(-3)));
    await assertAllClose(nb.vmap(f)(xs), nb.stack(each), { rtol: 1e-6 });
    // pytree results, one branch constant over the batch, operands not batched at all
    const preds = nb.tensor([true, false, true]);
    const g = (p: T) =>
      nb.cond(p, (y: T) => ({ a: y.sum(), b: y }), (y: T) => ({ a: nb.tensor(-1), b: y.neg() }), w);
    const out = nb.vmap(g)(preds);
    await assertAllClose(out.a, [w.sum().item(), -1, w.sum().item()], { rtol: 1e-6 });
    await assertAllClose(out.b, nb.stack([w, w.neg(), w]));
  });
  await t.step("switchCase with a batched index, out-of-range indices clamped", async () => {
    const a = nb.tensor([[1, 2], [0.5, -1], [2, 0], [-1, 1]]);
    const b = nb.tensor([[3, -1], [1, 1], [0.5, 2], [2, 2]]);
    const idx = nb.tensor([2, -5, 1, 9], { dtype: "int32" });
    const out = nb.vmap((i: T, a: T, b: T) => nb.switchCase(i, three, { a, b }))(idx, a, b);
    const ks = [2, 0, 1, 2];
    const each = ks.map((k, n) => three[k]({ a: row(a, n), b: row(b, n) }));
    await assertAllClose(out, {
      s: nb.stack(each.map((e) => e.s)),
      p: nb.stack(each.map((e) => e.p)),
    }, {
      rtol: 1e-6,
    });
  });
  await t.step("vmap of grad, pred batched, equals a loop of grads", async () => {
    const f = (x: T) =>
      nb.cond(x.sum().greater(0), (y: T) => y.sin().sum(), (y: T) => y.square().sum(), x);
    const each = rows(xs).map((x) => nb.grad(f)(x));
    await assertAllClose(nb.vmap(nb.grad(f))(xs), nb.stack(each), { rtol: 1e-6 });
    const g = (x: T) => viaCond(false)(x, w, v);
    await assertAllClose(nb.vmap(nb.grad(g))(xs), nb.stack(rows(xs).map(nb.grad(g))), {
      rtol: 1e-6,
    });
  });
});

Deno.test("cond: jit", async (t) => {
  const args = inputs();
  await t.step("jit equals eager on both branches, compiled once", async () => {
    let traces = 0;
    const f = (x: T, w: T, v: T) => {
      traces++;
      const { yes, no } = branchesOf(w, v);
      return nb.cond(x.sum().greater(0), yes, no, x);
    };
    const jf = nb.jit(f);
    const [x, w, v] = args;
    for (const y of [x, x.neg(), x, x.neg()]) {
      await assertAllClose(jf(y, w, v), f(y, w, v), { rtol: 1e-6 });
    }
    assert.equal(traces, 1 + 4); // one staging, four eager calls
    const kernels = jf.lower(x, w, v).kernels.map((k) => k.ops.join("+"));
    assert.equal(kernels.filter((k) => k === "cond").length, 1);
  });
  await t.step("switchCase under jit, with the index an argument", async () => {
    const ops = { a: nb.tensor([1, 2]), b: nb.tensor([3, -1]) };
    const jf = nb.jit((i: T, o: { a: T; b: T }) => nb.switchCase(i, three, o));
    for (const k of [0, 1, 2, 5]) {
      const i = nb.tensor(k, { dtype: "int32" });
      await assertAllClose(jf(i, ops), nb.switchCase(i, three, ops));
    }
  });
  await t.step("jit(grad), grad(jit) and jit(vmap) equal eager", async () => {
    for (const p of [true, false]) {
      const eager = nb.grad(viaCond(p), { argnums: [0, 1, 2] })(...args);
      await assertAllClose(nb.jit(nb.grad(viaCond(p), { argnums: [0, 1, 2] }))(...args), eager, {
        rtol: 1e-6,
      });
      await assertAllClose(nb.grad(nb.jit(viaCond(p)), { argnums: [0, 1, 2] })(...args), eager, {
        rtol: 1e-6,
      });
    }
    const xs = nb.tensor([[0.3, -0.8, 0.5], [-1.0, 0.2, -0.4]]);
    const vm = nb.vmap((x: T) =>
      nb.cond(x.sum().greater(0), (y: T) => y.exp(), (y: T) => y.neg(), x)
    );
    await assertAllClose(nb.jit(vm)(xs), vm(xs), { rtol: 1e-6 });
  });
});

Deno.test("cond: bad input", async (t) => {
  const x = nb.tensor([1, 2]);
  const id = (y: T) => y;
  await t.step("branches whose results disagree", () => {
    assert.throws(() => nb.cond(true, id, (y: T) => y.sum(), x), {
      name: "RangeError",
      message: "cond: the output of falseFn has shape [], but the output of trueFn has shape [2]",
    });
    assert.throws(() => nb.cond(true, id, (y: T) => y.astype("int32"), x), {
      name: "TypeError",
      message: "cond: the output of falseFn is int32[2], but the output of trueFn is float32[2]",
    });
    assert.throws(() => nb.switchCase(0, [id, id, (y: T) => [y, y] as never], x), {
      name: "TypeError",
      message:
        /^switchCase: the output of branch 2 has structure \[\*, \*\], but the output of branch 0 has \*$/,
    });
    assert.throws(() => nb.cond(true, () => 3 as unknown as T, id, x), {
      name: "TypeError",
      message: "cond: the output of trueFn must be a pytree of tensors, but leaf 0 is number 3",
    });
  });
  await t.step("a pred that is not a scalar, or not a value", () => {
    assert.throws(() => nb.cond(nb.tensor([true, false]), id, id, x), {
      name: "RangeError",
      message: "cond: pred must be a scalar, got shape [2]",
    });
    assert.throws(() => nb.cond("yes" as never, id, id, x), {
      name: "TypeError",
      message: "cond: pred must be a scalar tensor, a boolean or a number, got string yes",
    });
  });
  await t.step("branches that are not functions; operands that are not tensors", () => {
    assert.throws(() => nb.cond(true, id, 3 as never, x), {
      name: "TypeError",
      message: "cond: falseFn must be a function, got number 3",
    });
    assert.throws(() => nb.cond(true, id, id, [1, 2] as never), {
      name: "TypeError",
      message: "cond: operands must be a pytree of tensors, but leaf 0 is number 1",
    });
    assert.throws(() => nb.switchCase(0, id as never, x), {
      name: "TypeError",
      message: "switchCase: branches must be an array of functions, got a function",
    });
    assert.throws(() => nb.switchCase(0, [], x), {
      name: "RangeError",
      message: "switchCase: branches must hold at least one function, got none",
    });
    assert.throws(() => nb.switchCase(0, [id, "f" as never], x), {
      name: "TypeError",
      message: "switchCase: branch 1 must be a function, got string f",
    });
  });
  await t.step("an index that is not an int32 scalar", () => {
    assert.throws(() => nb.switchCase(nb.tensor([0, 1], { dtype: "int32" }), [id], x), {
      name: "RangeError",
      message: "switchCase: index must be a scalar, got shape [2]",
    });
    assert.throws(() => nb.switchCase(nb.tensor(1), [id], x), {
      name: "TypeError",
      message: "switchCase: index must be an int32 tensor, got float32[]",
    });
    assert.throws(() => nb.switchCase(1.5, [id], x), {
      name: "TypeError",
      message: "switchCase: index must be an int32 scalar tensor or an integer, got number 1.5",
    });
  });
  await t.step("a branch that reads a traced value", () => {
    assert.throws(() => nb.cond(true, (y: T) => (y.sum().item() > 0 ? y : y.neg()), id, x), {
      name: "TypeError",
      message: /cond/,
    });
  });
});

async function hasWebGpu(): Promise<boolean> {
  try {
    return (await navigator.gpu?.requestAdapter()) != null;
  } catch {
    return false;
  }
}

Deno.test({
  name: "cond: on webgpu, a choice known in JS runs; a pred on the GPU is a clear error",
  ignore: !(await hasWebGpu()),
  fn: async () => {
    const x = await nb.tensor([1, -2, 3]).to("webgpu");
    const f = (p: boolean | T) => (y: T) => nb.cond(p, (y: T) => y.mul(2), (y: T) => y.neg(), y);
    assert.deepEqual(await f(false)(x).toArray(), [-1, 2, -3]);
    assert.deepEqual(await nb.jit(f(true))(x).toArray(), [2, -4, 6]);
    assert.deepEqual(await nb.grad((y: T) => f(true)(y).sum())(x).toArray(), [2, 2, 2]);
    // a batched pred chooses with select, reading nothing
    const preds = await nb.tensor([true, false, true]).to("webgpu");
    const batched = nb.vmap((p: T, y: T) => f(p)(y))(preds, x);
    assert.deepEqual(await batched.toArray(), [2, 2, 6]);
    const error = {
      name: "TypeError",
      message:
        `cond: the branch index is on device "webgpu", which reads values only asynchronously, so the branch cannot be chosen; compute both results and choose with where(pred, a, b), or pass pred (or the index) as a JS value or a cpu or wasm tensor`,
    };
    const onGpu = (y: T) => f(y.sum().greater(0))(y);
    assert.throws(() => onGpu(x), error);
    assert.throws(() => nb.jit(onGpu)(x), error);
  },
});
