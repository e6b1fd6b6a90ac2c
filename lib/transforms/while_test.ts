import assert from "node:assert/strict";
import * as nb from "../../mod.ts";
import { assertAllClose, checkGrads } from "../testing.ts";

type T = nb.Tensor;
const int = (n: number) => nb.tensor(n, { dtype: "int32" });

// Newton's method for √a, until the last step is below 1e-6 (the carry is [x, step]).
const newton = (a: T): T =>
  nb.whileLoop(
    ([, step]: T[]) => step.abs().greater(1e-6),
    ([x]: T[]) => {
      const next = x.sub(x.mul(x).sub(a).div(x.mul(2)));
      return [next, next.sub(x)];
    },
    [nb.onesLike(a), nb.onesLike(a)],
  )[0];

// A smooth loop of fixed length 4 that mixes a captured constant into the carry: each step
// v ← sin(v·a) + 0.5·v (so finite differences never change the trip count).
const smooth = (a: T, v0: T): T =>
  nb.whileLoop(
    ([i]: T[]) => i.less(4),
    ([i, v]: T[]) => [i.add(1), v.mul(a).sin().add(v.mul(0.5))],
    [int(0), v0],
  )[1];
const smoothUnrolled = (a: T, v0: T): T => {
  let v = v0;
  for (let i = 0; i < 4; i++) v = v.mul(a).sin().add(v.mul(0.5));
  return v;
};

// The triangular sum 0 + 1 + ... + (n-1), as a loop whose length is n: per example, a batched
// n gives each example its own trip count.
const triangle = (n: T) =>
  nb.whileLoop(
    ([i]: T[]) => i.less(n),
    ([i, s]: T[]) => [i.add(1), s.add(i.astype("float32"))],
    [int(0), nb.tensor(0)],
  );

Deno.test("whileLoop: values", async (t) => {
  await t.step("Newton iterations converge to √2 and √9", async () => {
    await assertAllClose(newton(nb.tensor(2)), Math.SQRT2, { rtol: 1e-6 });
    await assertAllClose(newton(nb.tensor(9)), 3, { rtol: 1e-6 });
  });
  await t.step("a counter runs until its predicate fails", () => {
    const [i, s] = triangle(int(5));
    assert.equal(i.item(), 5);
    assert.equal(s.item(), 0 + 1 + 2 + 3 + 4);
    assert.equal(i.dtype, "int32");
  });
  await t.step("a predicate that fails at once returns the initial carry", () => {
    const [i, s] = triangle(int(0));
    assert.equal(i.item(), 0);
    assert.equal(s.item(), 0);
  });
  await t.step("pytrees of carries; a numeric predicate holds while nonzero", () => {
    const out = nb.whileLoop(
      (c: { left: T; acc: { p: T; n: T } }) => c.left,
      (c) => ({ left: c.left.sub(1), acc: { p: c.acc.p.mul(3), n: c.acc.n.add(1) } }),
      { left: nb.tensor(4), acc: { p: nb.tensor(1), n: int(0) } },
    );
    assert.equal(out.left.item(), 0);
    assert.equal(out.acc.p.item(), 81);
    assert.equal(out.acc.n.item(), 4);
    assert.equal(out.acc.n.dtype, "int32");
  });
  await t.step("a body that returns its carry unchanged leaves the inputs alive", () => {
    const x = nb.tensor([1, 2]);
    const [n, y] = nb.whileLoop(([n]: T[]) => n.less(3), ([n, y]: T[]) => [n.add(1), y], [
      int(0),
      x,
    ]);
    assert.equal(n.item(), 3);
    assert.deepEqual([...y.dataSync()], [1, 2]);
    assert.deepEqual([...x.dataSync()], [1, 2]);
  });
  await t.step("cond and body are staged once: one equation whatever the trip count", () => {
    let calls = 0;
    const program = nb.makeJaxpr((n: T) =>
      nb.whileLoop(([i]: T[]) => i.less(n), ([i]: T[]) => {
        calls++;
        return [i.add(1)];
      }, [int(0)])
    )(int(1000));
    assert.deepEqual(program.equations.map((e) => e.prim.name), ["while"]);
    assert.equal(calls, 1);
  });
  await t.step("forLoop with tensor bounds equals forLoop with number bounds", () => {
    const body = (i: T, c: T) => c.mul(1.5).add(i.astype("float32"));
    const byNumbers = nb.forLoop(2, 7, body, nb.tensor(1)).item();
    assert.equal(nb.forLoop(int(2), int(7), body, nb.tensor(1)).item(), byNumbers);
    assert.equal(nb.forLoop(2, int(7), body, nb.tensor(1)).item(), byNumbers);
    assert.equal(nb.forLoop(int(2), 7, body, nb.tensor(1)).item(), byNumbers);
    assert.equal(nb.forLoop(int(7), int(2), body, nb.tensor(1)).item(), 1);
  });
});

Deno.test("whileLoop: derivatives", async (t) => {
  const f64 = (x: number | number[]) => nb.tensor(x, { dtype: "float64" });
  await t.step("jvp equals the unrolled loop's", async () => {
    const [a, v0] = [nb.tensor([0.7, -1.2]), nb.tensor([0.3, 0.9])];
    const [da, dv] = [nb.tensor([1, 0.5]), nb.tensor([-0.2, 1])];
    const [y, dy] = nb.jvp(smooth, [a, v0], [da, dv]);
    const [yRef, dyRef] = nb.jvp(smoothUnrolled, [a, v0], [da, dv]);
    await assertAllClose(y, yRef, { rtol: 1e-6 });
    await assertAllClose(dy, dyRef, { rtol: 1e-5 });
  });
  await t.step("checkGrads at order 2 in forward mode, float64", async () => {
    await checkGrads(smooth, [f64([0.7, -1.2]), f64([0.3, 0.9])], { order: 2, modes: ["fwd"] });
  });
  await t.step("a carry that starts constant gets a tangent from the body", async () => {
    // v0 does not depend on a, but every step mixes a into v
    await checkGrads((a: T) => smooth(a, nb.tensor(0.4, { dtype: a.dtype })), [f64(0.8)], {
      order: 2,
      modes: ["fwd"],
    });
  });
  await t.step("Newton's √a has derivative 1/(2√a)", async () => {
    const [, d] = nb.jvp(newton, [nb.tensor(2, { dtype: "float64" })], [f64(1)]);
    await assertAllClose(d, 1 / (2 * Math.SQRT2), { rtol: 1e-5 });
  });
  await t.step("forLoop with tensor bounds differentiates in forward mode", async () => {
    const f = (x: T) =>
      nb.forLoop(int(0), int(3), (i: T, c: T) => c.mul(x).add(i.astype(x.dtype)), x);
    // c: x → x² → x³ + 1 → x⁴ + x + 2, so f'(x) = 4x³ + 1
    const [y, dy] = nb.jvp(f, [f64(1.5)], [f64(1)]);
    await assertAllClose([y, dy], [1.5 ** 4 + 1.5 + 2, 4 * 1.5 ** 3 + 1], { rtol: 1e-12 });
    await checkGrads(f, [f64(1.5)], { order: 2, modes: ["fwd"] });
  });
  await t.step("jvp through a scan whose body holds a whileLoop", async () => {
    // each scan step runs the loop with the carry as its constant and its start
    const f = (x: T) => nb.scan((c: T) => [smooth(c, c), null], x, null, { length: 2 })[0];
    await checkGrads(f, [f64(0.6)], { order: 2, modes: ["fwd"] });
  });
  const reverse =
    /^reverse-mode differentiation of whileLoop is not supported, because its number of iterations is not known in advance; use scan or forLoop with number bounds$/;
  await t.step("grad, vjp and jacrev raise a clear error", () => {
    const a = nb.tensor(0.7);
    const err = { name: "TypeError", message: reverse };
    assert.throws(() => nb.grad((x: T) => smooth(x, x))(a), err);
    assert.throws(() => nb.vjp((x: T) => smooth(x, x), a), err);
    assert.throws(() => nb.jacrev((x: T) => smooth(x, x))(nb.tensor([0.1, 0.2])), err);
    assert.throws(() => nb.jit(nb.grad((x: T) => smooth(x, x)))(a), err);
    assert.throws(() => nb.vmap(nb.grad((x: T) => smooth(x, x)))(nb.tensor([0.1, 0.2])), err);
    const viaForLoop = (x: T) => nb.forLoop(0, int(3), (_i: T, c: T) => c.mul(x), x);
    assert.throws(() => nb.grad(viaForLoop)(a), err);
  });
  await t.step("grad where no tangent reaches the carry is zero, as in JAX", () => {
    // x only decides the trip count: the loop's result is locally constant in x
    const f = (x: T) =>
      nb.whileLoop(
        ([i]: T[]) => i.astype("float32").less(x),
        ([i, s]: T[]) => [i.add(1), s.mul(2)],
        [
          int(0),
          nb.tensor(1),
        ],
      )[1].add(x);
    assert.equal(f(nb.tensor(2.5)).item(), 8 + 2.5);
    assert.equal(nb.grad(f)(nb.tensor(2.5)).item(), 1);
  });
});

Deno.test("whileLoop: vmap", async (t) => {
  await t.step("an unbatched predicate over batched carries", async () => {
    const a = nb.tensor([0.7, -1.2, 0.3]);
    const batched = nb.vmap((x: T) => smooth(x, x))(a);
    const each = [0.7, -1.2, 0.3].map((x) => smooth(nb.tensor(x), nb.tensor(x)).item());
    await assertAllClose(batched, each, { rtol: 1e-6 });
  });
  await t.step("a batched predicate: each example stops at its own step", async () => {
    const ns = [3, 0, 6, 1];
    const [is, sums] = nb.vmap(triangle)(nb.tensor(ns, { dtype: "int32" }));
    assert.deepEqual(await is.toArray(), ns);
    assert.deepEqual(await sums.toArray(), ns.map((n) => triangle(int(n))[1].item()));
    assert.deepEqual(await sums.toArray(), [3, 0, 15, 0]);
  });
  await t.step("Newton per example, with different trip counts", async () => {
    const as = [2, 9, 1, 1e4];
    const batched = nb.vmap(newton)(nb.tensor(as));
    await assertAllClose(batched, as.map((a) => newton(nb.tensor(a)).item()), { rtol: 1e-6 });
    await assertAllClose(batched, as.map(Math.sqrt), { rtol: 1e-6 });
  });
  await t.step("vmap of jvp and jvp of vmap", async () => {
    const as = nb.tensor([2, 9, 5]);
    const jvpEach = nb.vmap((a: T) => nb.jvp(newton, [a], [nb.onesLike(a)])[1])(as);
    const [, jvpOfVmap] = nb.jvp(nb.vmap(newton), [as], [nb.onesLike(as)]);
    const expected = [2, 9, 5].map((a) => 1 / (2 * Math.sqrt(a)));
    await assertAllClose(jvpEach, expected, { rtol: 1e-4 });
    await assertAllClose(jvpOfVmap, expected, { rtol: 1e-4 });
  });
  await t.step("a batched body constant and a batched predicate constant together", async () => {
    const f = (n: T, a: T) =>
      nb.whileLoop(([i]: T[]) => i.less(n), ([i, v]: T[]) => [i.add(1), v.mul(a)], [int(0), a])[1];
    const [ns, as] = [[2, 4, 0], [1.5, -0.5, 3]];
    const batched = nb.vmap(f)(nb.tensor(ns, { dtype: "int32" }), nb.tensor(as));
    await assertAllClose(batched, as.map((a, k) => a ** (ns[k] + 1)), { rtol: 1e-6 });
  });
});

Deno.test("whileLoop: jit", async (t) => {
  await t.step("jit equals eager, and later calls reuse the compiled loop", async () => {
    let staged = 0;
    const f = nb.jit((n: T, a: T) =>
      nb.whileLoop(([i]: T[]) => i.less(n), ([i, v]: T[]) => {
        staged++;
        return [i.add(1), v.mul(a).sin().add(v.mul(0.5))];
      }, [int(0), a])
    );
    for (const [n, a] of [[4, 0.7], [9, -1.1], [0, 0.3]] as const) {
      const eager = nb.whileLoop(
        ([i]: T[]) => i.less(n),
        ([i, v]: T[]) => [i.add(1), v.mul(a).sin().add(v.mul(0.5))],
        [int(0), nb.tensor(a)],
      );
      await assertAllClose(f(int(n), nb.tensor(a)), eager, { rtol: 1e-6 });
    }
    assert.equal(staged, 1);
    const kernels = f.lower(int(4), nb.tensor(0.7)).kernels.map((k) => k.ops.join("+"));
    assert.equal(kernels.filter((k) => k === "while").length, 1);
  });
  await t.step("forLoop with traced bounds inside jit", async () => {
    const f = nb.jit((lo: T, hi: T, x: T) =>
      nb.forLoop(lo, hi, (i: T, c: T) => c.mul(x).add(i.astype("float32")), nb.tensor(1))
    );
    for (const [lo, hi] of [[0, 3], [2, 6], [5, 1]]) {
      const eager = nb.forLoop(
        lo,
        hi,
        (i: T, c: T) => c.mul(2).add(i.astype("float32")),
        nb.tensor(1),
      );
      assert.equal(f(int(lo), int(hi), nb.tensor(2)).item(), eager.item());
    }
  });
  await t.step("jit of vmap and of jvp equal eager", async () => {
    const ns = nb.tensor([3, 0, 6, 1], { dtype: "int32" });
    await assertAllClose(nb.jit(nb.vmap(triangle))(ns), nb.vmap(triangle)(ns));
    const jvpNewton = (a: T) => nb.jvp(newton, [a], [nb.onesLike(a)]);
    await assertAllClose(nb.jit(jvpNewton)(nb.tensor(5)), jvpNewton(nb.tensor(5)), { rtol: 1e-6 });
    const as = nb.tensor([2, 9, 5]);
    await assertAllClose(nb.jit(nb.vmap(jvpNewton))(as), nb.vmap(jvpNewton)(as), { rtol: 1e-6 });
  });
});

Deno.test("whileLoop: bad input", async (t) => {
  const init = [int(0), nb.tensor([1, 2])];
  const cond = ([i]: T[]) => i.less(3);
  await t.step("cond and body must be functions", () => {
    assert.throws(() => nb.whileLoop(3 as never, (c: T[]) => c, init), {
      name: "TypeError",
      message: "whileLoop: cond must be a function, got number 3",
    });
    assert.throws(() => nb.whileLoop(cond, null as never, init), {
      name: "TypeError",
      message: "whileLoop: body must be a function, got null",
    });
  });
  await t.step("init must be a pytree of tensors", () => {
    assert.throws(() => nb.whileLoop(cond, (c) => c, [int(0), 5] as never), {
      name: "TypeError",
      message: "whileLoop: init must be a pytree of tensors, but leaf 1 is number 5",
    });
  });
  await t.step("cond must return a scalar tensor", () => {
    assert.throws(() => nb.whileLoop(([, x]: T[]) => x.greater(0), (c) => c, init), {
      name: "TypeError",
      message: "whileLoop: cond must return a scalar tensor (shape []), got shape [2]",
    });
    assert.throws(() => nb.whileLoop(() => true as never, (c) => c, init), {
      name: "TypeError",
      message: "whileLoop: cond must return a scalar tensor (shape []), got boolean true",
    });
  });
  await t.step("body must return init's structure, shapes and dtypes", () => {
    assert.throws(() => nb.whileLoop(cond, ([i, x]: T[]) => [i.add(1), x.sum()], init), {
      name: "RangeError",
      message: "whileLoop: the carry body returned (leaf 1) has shape [], but init has shape [2]",
    });
    assert.throws(() => nb.whileLoop(cond, ([i, x]: T[]) => [i.add(0.5), x], init), {
      name: "TypeError",
      message:
        /^whileLoop: the carry body returned \(leaf 0\) is .*float32.*, but init is int32\[\]$/,
    });
    assert.throws(() => nb.whileLoop(cond, ([i]: T[]) => [i.add(1)], init), {
      name: "TypeError",
      message: /^whileLoop: the carry body returned has structure .*, but init has .*/,
    });
  });
  await t.step("reading a traced value in the body names whileLoop", () => {
    assert.throws(
      () => nb.whileLoop(cond, ([i, x]: T[]) => [i.add(1), x.sum().item() > 0 ? x : x.neg()], init),
      { name: "TypeError", message: /inside whileLoop/ },
    );
  });
  await t.step("forLoop's tensor bounds must be int32 scalars", () => {
    assert.throws(() => nb.forLoop(0, nb.tensor(3), (_i: T, c: T) => c, nb.tensor(0)), {
      name: "TypeError",
      message: "forLoop: upper must be an int32 scalar tensor, got float32[]",
    });
    assert.throws(
      () => nb.forLoop(nb.zeros([2], { dtype: "int32" }), 3, (_i: T, c: T) => c, nb.tensor(0)),
      {
        name: "TypeError",
        message: "forLoop: lower must be an int32 scalar tensor, got int32[2]",
      },
    );
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
  name: "whileLoop: on webgpu, which reads only asynchronously, a clear error",
  ignore: !(await hasWebGpu()),
  fn: async () => {
    const n = await int(3).to("webgpu");
    const loop = (n: T) =>
      nb.whileLoop(([i]: T[]) => i.less(n), ([i]: T[]) => [i.add(1)], [n.sub(n)]);
    const error = {
      name: "TypeError",
      message:
        `whileLoop: the loop's predicate is on device "webgpu", which reads values only asynchronously, so the loop cannot decide when to stop; use scan or forLoop with number bounds`,
    };
    assert.throws(() => loop(n), error);
    assert.throws(() => nb.jit(loop)(n), error);
  },
});
