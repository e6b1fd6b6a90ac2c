// The user-facing transformations over pytrees: grad, valueAndGrad, vjp, jvp, jacfwd, jacrev,
// hessian, vmap, stopGradient and customVjp, their compositions, and their errors.

import * as nb from "../../mod.ts";
import assert from "node:assert/strict";

const { assertAllClose } = nb.testing;
type T = nb.Tensor;
const f64 = (x: nb.NestedArray): T => nb.tensor(x, { dtype: "float64" });

Deno.test("grad and valueAndGrad: argnums", async (t) => {
  const f = (x: T, y: T, z: T) => x.mul(y).add(z.square()).sum();
  const [x, y, z] = [nb.tensor([1, 2]), nb.tensor([3, 4]), nb.tensor([5, 6])];
  await t.step("default argnum 0", async () => {
    await assertAllClose(nb.grad(f)(x, y, z), [3, 4]);
  });
  await t.step("a single number", async () => {
    await assertAllClose(nb.grad(f, { argnums: 2 })(x, y, z), [10, 12]);
  });
  await t.step("an array gives an array, in the order asked", async () => {
    const g = nb.grad(f, { argnums: [2, 0] })(x, y, z);
    assert.ok(Array.isArray(g));
    await assertAllClose(g, [[10, 12], [3, 4]]);
  });
  await t.step("a one-element array still gives an array", async () => {
    const g = nb.grad(f, { argnums: [1] })(x, y, z);
    assert.ok(Array.isArray(g) && g.length === 1);
    await assertAllClose(g, [[1, 2]]);
  });
  await t.step("negative argnums count from the end", async () => {
    await assertAllClose(nb.grad(f, { argnums: -1 })(x, y, z), [10, 12]);
    await assertAllClose(nb.grad(f, { argnums: [-2, 0] })(x, y, z), [[1, 2], [3, 4]]);
  });
  await t.step("out-of-range argnums raise a RangeError", () => {
    assert.throws(() => nb.grad(f, { argnums: 3 })(x, y, z), RangeError);
    assert.throws(() => nb.grad(f, { argnums: -4 })(x, y, z), RangeError);
  });
  await t.step("non-differentiated arguments may be anything", async () => {
    const g = nb.grad((x: T, opts: { scale: number }) => x.mul(opts.scale).sum())(x, { scale: 3 });
    await assertAllClose(g, [3, 3]);
  });
  await t.step("valueAndGrad returns [value, grads]", async () => {
    const [v, g] = nb.valueAndGrad(f, { argnums: [0, 1] })(x, y, z);
    await assertAllClose(v, 3 + 8 + 25 + 36);
    await assertAllClose(g, [[3, 4], [1, 2]]);
  });
  await t.step("an unused argument gets zeros of its shape and dtype", async () => {
    const g = nb.grad((a: T, _b: T) => a.sum(), { argnums: 1 })(x, f64([[1, 2, 3]]));
    assert.deepEqual(g.shape, [1, 3]);
    assert.equal(g.dtype, "float64");
    await assertAllClose(g, [[0, 0, 0]]);
  });
  await t.step("the gradient keeps the input's dtype", () => {
    assert.equal(nb.grad((x: T) => x.sum())(f64([1, 2])).dtype, "float64");
    assert.equal(nb.grad((x: T) => x.sum())(nb.tensor([1, 2])).dtype, "float32");
  });
});

Deno.test("grad: hasAux", async (t) => {
  const f = (x: T) => {
    const y = x.square();
    return [y.sum(), { y, n: 7, parts: [x.exp(), "tag"] }] as const;
  };
  const x = nb.tensor([1, 2]);
  await t.step("grad returns [grads, aux] and aux leaves are concrete tensors", async () => {
    const [g, aux] = nb.grad(f, { hasAux: true })(x);
    await assertAllClose(g, [2, 4]);
    assert.equal(aux.y.isTracer, false);
    assert.equal(aux.parts[0].isTracer, false);
    await assertAllClose(aux.y, [1, 4]);
    await assertAllClose(aux.parts[0], [Math.E, Math.E ** 2]);
    assert.equal(aux.n, 7);
    assert.equal(aux.parts[1], "tag");
  });
  await t.step("valueAndGrad returns [[value, aux], grads]", async () => {
    const [[v, aux], g] = nb.valueAndGrad(f, { hasAux: true })(x);
    await assertAllClose(v, 5);
    await assertAllClose(aux.y, [1, 4]);
    await assertAllClose(g, [2, 4]);
  });
  await t.step("aux that is not returned as a pair raises a TypeError", () => {
    assert.throws(() => nb.grad((x: T) => x.sum(), { hasAux: true })(x), TypeError);
  });
  await t.step("aux inside an outer transformation stays a value of the outer one", async () => {
    const outer = nb.grad((x: T) => {
      const [, aux] = nb.grad((y: T) => [y.mul(x).sum(), y.mul(x).sum()], { hasAux: true })(x);
      return aux;
    });
    await assertAllClose(outer(nb.tensor([1, 2])), [2, 4]);
  });
});

Deno.test("grad over pytree parameters", async (t) => {
  type Params = { layers: { w: T; b: T }[]; scale: T };
  const params: Params = {
    layers: [
      { w: nb.tensor([[1, 2], [3, 4]]), b: nb.tensor([0.5, -0.5]) },
      { w: nb.tensor([[0.1], [0.2]]), b: nb.tensor([0]) },
    ],
    scale: nb.tensor(2),
  };
  const x = nb.tensor([[1, -1]]);
  const loss = (p: Params, x: T) => {
    let h = x;
    for (const { w, b } of p.layers) h = nb.tanh(h.matmul(w).add(b));
    return h.mul(p.scale).sum();
  };
  await t.step("gradients keep the structure and shapes", async () => {
    const g = nb.grad(loss)(params, x);
    assert.deepEqual(Object.keys(g), ["layers", "scale"]);
    assert.equal(g.layers.length, 2);
    assert.deepEqual(g.layers[0].w.shape, [2, 2]);
    assert.deepEqual(g.layers[1].b.shape, [1]);
    assert.deepEqual(g.scale.shape, []);
    await assertAllClose(g.scale, loss(params, x).div(2));
  });
  await t.step("each leaf matches finite differences", async () => {
    const g = nb.grad(loss)(params, x);
    const [leaves, def] = nb.tree.flatten<T>(params);
    const [gLeaves] = nb.tree.flatten<T>(g);
    const eps = 1e-3;
    for (let k = 0; k < leaves.length; k++) {
      const base = leaves[k].dataSync();
      const numeric = new Float64Array(base.length);
      for (let j = 0; j < base.length; j++) {
        const at = (d: number) => {
          const data = Float32Array.from(base);
          data[j] += d;
          const ls = leaves.map((l, i) => (i === k ? nb.tensor(data, { shape: l.shape }) : l));
          return loss(nb.tree.unflatten<Params>(def, ls), x).item();
        };
        numeric[j] = (at(eps) - at(-eps)) / (2 * eps);
      }
      await assertAllClose(gLeaves[k], nb.tensor(numeric, { shape: leaves[k].shape }), {
        atol: 2e-3,
        rtol: 1e-2,
      });
    }
  });
  await t.step("arrays and null nodes", async () => {
    const g = nb.grad((p: [T, { a: T; skip: null }]) => p[0].mul(p[1].a).sum())([
      nb.tensor([1, 2]),
      {
        a: nb.tensor([3, 4]),
        skip: null,
      },
    ]);
    assert.equal(g[1].skip, null);
    await assertAllClose(g, [[3, 4], { a: [1, 2], skip: null }]);
  });
  await t.step("several pytree arguments with argnums", async () => {
    const [ga, gb] = nb.grad((a: { u: T }, b: T[]) => a.u.mul(b[0]).add(b[1]).sum(), {
      argnums: [0, 1],
    })(
      { u: nb.tensor([1, 2]) },
      [nb.tensor([3, 4]), nb.tensor(5)],
    );
    await assertAllClose(ga, { u: [3, 4] });
    await assertAllClose(gb, [[1, 2], 2]);
  });
});

Deno.test("vjp and jvp over pytrees", async (t) => {
  const f = (p: { a: T; b: T }, c: T) => ({ s: p.a.mul(p.b).sum(), v: [p.a.sin(), c.mul(p.b)] });
  const p = { a: nb.tensor([0.5, 1]), b: nb.tensor([2, 3]) };
  const c = nb.tensor([4, 5]);
  await t.step("vjp: pytree output and cotangent, one cotangent per primal", async () => {
    const [out, back] = nb.vjp(f, p, c);
    await assertAllClose(out, { s: 4, v: [[Math.sin(0.5), Math.sin(1)], [8, 15]] });
    const cts = back({ s: nb.tensor(1), v: [nb.tensor([1, 0]), nb.tensor([0, 1])] });
    assert.equal(cts.length, 2);
    // d/da: b + [cos a, 0]; d/db: a + [0, c]; d/dc: [0, b]
    await assertAllClose(cts[0], { a: [2 + Math.cos(0.5), 3], b: [0.5, 1 + 5] });
    await assertAllClose(cts[1], [0, 3]);
  });
  await t.step("vjp: the back function can be called more than once (linear)", async () => {
    const [, back] = nb.vjp((x: T) => x.square(), nb.tensor([1, 2]));
    await assertAllClose(back(nb.tensor([1, 1]))[0], [2, 4]);
    await assertAllClose(back(nb.tensor([2, 0]))[0], [4, 0]);
  });
  await t.step("vjp: a cotangent of the wrong shape or structure is an error", () => {
    const [, back] = nb.vjp((x: T) => x.square(), nb.tensor([1, 2]));
    assert.throws(() => back(nb.tensor([1, 2, 3])), RangeError);
    const [, back2] = nb.vjp(f, p, c);
    assert.throws(() => back2({ s: nb.tensor(1) } as never), TypeError);
  });
  await t.step("jvp: pytree primals and tangents", async () => {
    const [out, tan] = nb.jvp(f, [p, c], [
      { a: nb.tensor([1, 0]), b: nb.tensor([0, 1]) },
      nb.tensor([1, 1]),
    ]);
    await assertAllClose(out.s, 4);
    // ds = b·da + a·db = 2 + 1; dv0 = cos a ⊙ da; dv1 = dc ⊙ b + c ⊙ db
    await assertAllClose(tan, { s: 3, v: [[Math.cos(0.5), 0], [2, 3 + 5]] });
  });
  await t.step("jvp: an output independent of the inputs has a zero tangent", async () => {
    const [, tan] = nb.jvp((_x: T) => nb.tensor([1, 2]), [nb.tensor(1)], [nb.tensor(1)]);
    await assertAllClose(tan, [0, 0]);
  });
  await t.step("jvp: mismatched tangents are errors", () => {
    assert.throws(() => nb.jvp((x: T) => x, [nb.tensor([1, 2])], [nb.tensor([1])]), RangeError);
    assert.throws(() => nb.jvp((x: T) => x, [nb.tensor([1, 2])], []), TypeError);
    const p = { a: nb.tensor(1), b: nb.tensor(2) };
    assert.throws(() => nb.jvp((p: { a: T; b: T }) => p.a, [p], [[nb.tensor(1), nb.tensor(0)]]), {
      name: "TypeError",
      message: /structure/,
    });
  });
});

Deno.test("jacfwd, jacrev, hessian", async (t) => {
  // f(x) = [x0·x1·x2, sin(x0) + x2²]: J = [[x1x2, x0x2, x0x1], [cos x0, 0, 2x2]]
  const f = (x: T) =>
    nb.stack([x.prod(), nb.sin(x.take([0])).sum().add(x.take([2]).square().sum())]);
  const x = f64([0.5, -2, 3]);
  const J = [[-6, 1.5, -1], [Math.cos(0.5), 0, 6]];
  await t.step("jacfwd of R^3 → R^2 by hand", async () => {
    const j = nb.jacfwd(f)(x);
    assert.deepEqual(j.shape, [2, 3]);
    await assertAllClose(j, J);
  });
  await t.step("jacrev of R^3 → R^2 by hand", async () => {
    await assertAllClose(nb.jacrev(f)(x), J);
  });
  await t.step("jacfwd equals jacrev on a nonlinear function", async () => {
    const g = (x: T) => nb.stack([x.exp().mul(x.sin()).sum(), x.tanh().prod().add(x.max())]);
    const at = f64([0.3, -0.7, 1.1]);
    await assertAllClose(nb.jacfwd(g)(at), nb.jacrev(g)(at), { atol: 1e-12, rtol: 1e-10 });
  });
  await t.step("matrix input and output: shape [...out, ...in]", async () => {
    const a = f64([[1, 2], [3, 4]]);
    const j = nb.jacrev((m: T) => m.matmul(m))(a);
    assert.deepEqual(j.shape, [2, 2, 2, 2]);
    // d(M²)_{ij}/dM_{kl} = δ_ik M_lj + M_ik δ_jl
    const expected = [0, 1].map((i) =>
      [0, 1].map((j2) =>
        [0, 1].map((k) =>
          [0, 1].map((l) =>
            (i === k ? [[1, 2], [3, 4]][l][j2] : 0) + (j2 === l ? [[1, 2], [3, 4]][i][k] : 0)
          )
        )
      )
    );
    await assertAllClose(j, expected);
    await assertAllClose(nb.jacfwd((m: T) => m.matmul(m))(a), expected);
  });
  await t.step("argnums", async () => {
    const g = (a: T, b: T) => a.mul(b);
    const [ja, jb] = nb.jacrev(g, { argnums: [0, 1] })(nb.tensor([1, 2]), nb.tensor([3, 4]));
    await assertAllClose(ja, [[3, 0], [0, 4]]);
    await assertAllClose(jb, [[1, 0], [0, 2]]);
    await assertAllClose(nb.jacfwd(g, { argnums: 1 })(nb.tensor([1, 2]), nb.tensor([3, 4])), [[
      1,
      0,
    ], [0, 2]]);
  });
  await t.step("hessian by hand: f = x0² x1 + sin x1", async () => {
    const h = nb.hessian((x: T) =>
      x.take([0]).square().mul(x.take([1])).sum().add(x.take([1]).sin().sum())
    )(
      f64([1.5, 0.5]),
    );
    await assertAllClose(h, [[2 * 0.5, 2 * 1.5], [2 * 1.5, -Math.sin(0.5)]]);
  });
  await t.step("hessian of a quadratic form is A + Aᵀ", async () => {
    const A = f64([[1, 2, 0], [0, 3, 1], [4, 0, 5]]);
    const h = nb.hessian((x: T) => x.matmul(A).matmul(x))(f64([0.1, 0.2, 0.3]));
    await assertAllClose(h, [[2, 2, 4], [2, 6, 1], [4, 1, 10]]);
  });
  await t.step("hessian with an array of argnums gives the blocks H[i][j]", async () => {
    // f(a, b) = a²·b (scalars): H = [[2b, 2a], [2a, 0]]
    const h = nb.hessian((a: T, b: T) => a.square().mul(b), { argnums: [0, 1] })(f64(3), f64(5));
    await assertAllClose(h, [[10, 6], [6, 0]]);
    const hv = nb.hessian((a: T, b: T) => a.mul(b).sum(), { argnums: [0, 1] })(
      f64([1, 2]),
      f64([3, 4]),
    );
    await assertAllClose(hv, [[[[0, 0], [0, 0]], [[1, 0], [0, 1]]], [[[1, 0], [0, 1]], [[0, 0], [
      0,
      0,
    ]]]]);
  });
  await t.step("pytree outputs give a pytree of Jacobians (jacfwd and jacrev agree)", async () => {
    const g = (x: T) => ({ s: x.square().sum(), v: [x.mul(2)] }) as unknown as T;
    const x = f64([1, 2]);
    const expected = { s: [2, 4], v: [[[2, 0], [0, 2]]] };
    await assertAllClose(nb.jacrev(g)(x), expected);
    await assertAllClose(nb.jacfwd(g)(x), expected);
    const two = nb.jacrev((a: T, b: T) => [a.mul(b), b] as unknown as T, { argnums: [0, 1] });
    await assertAllClose(two(f64([1]), f64([3])), [[[[3]], [[1]]], [[[0]], [[1]]]]);
  });
});

Deno.test("composition of transformations", async (t) => {
  await t.step("grad(grad(f)) and a third derivative", async () => {
    const f = (x: T) => x.pow(4).add(x.sin());
    const x = f64(0.7);
    await assertAllClose(nb.grad(nb.grad(f))(x), 12 * 0.49 - Math.sin(0.7));
    await assertAllClose(nb.grad(nb.grad(nb.grad(f)))(x), 24 * 0.7 - Math.cos(0.7));
  });
  await t.step("jacfwd(jacrev(f)) equals hessian and jacrev(jacfwd(f))", async () => {
    const f = (x: T) => x.exp().mul(x.cos()).sum().add(x.prod());
    const x = f64([0.2, -0.4, 0.9]);
    const h1 = nb.jacfwd(nb.jacrev(f))(x);
    await assertAllClose(h1, nb.hessian(f)(x));
    await assertAllClose(h1, nb.jacrev(nb.jacfwd(f))(x), { atol: 1e-12, rtol: 1e-10 });
    await assertAllClose(h1, nb.jacrev(nb.jacrev(f))(x), { atol: 1e-12, rtol: 1e-10 });
  });
  await t.step("vmap(grad(f)): per-example gradients equal a loop", async () => {
    const w = nb.tensor([[0.5, -1], [2, 0.25], [1, 1]]);
    const loss = (w: T, x: T, y: T) => nb.tanh(x.matmul(w)).sub(y).square().sum();
    const xs = nb.tensor([[1, 2, 3], [0, -1, 1], [2, 0, -2], [1, 1, 1]]);
    const ys = nb.tensor([[0, 1], [1, 0], [0.5, 0.5], [-1, 1]]);
    const perExample = nb.vmap(nb.grad(loss), { inAxes: [null, 0, 0] })(w, xs, ys);
    assert.deepEqual(perExample.shape, [4, 3, 2]);
    const loop = [0, 1, 2, 3].map((i) =>
      nb.grad(loss)(w, xs.take(i, { axis: 0 }), ys.take(i, { axis: 0 }))
    );
    await assertAllClose(perExample, nb.stack(loop));
    await assertAllClose(
      perExample.sum({ axis: 0 }),
      nb.grad((w: T) => nb.vmap(loss, { inAxes: [null, 0, 0] })(w, xs, ys).sum())(w),
    );
  });
  await t.step("grad(x => vmap(f)(x).sum())", async () => {
    const f = (row: T) => row.sin().mul(row.sum());
    const x = f64([[0.1, 0.2], [0.3, -0.4], [1, 2]]);
    const g = nb.grad((x: T) => nb.vmap(f)(x).sum())(x);
    const g2 = nb.grad((x: T) => x.sin().mul(x.sum({ axis: 1, keepdims: true })).sum())(x);
    await assertAllClose(g, g2);
  });
  await t.step("vmap(jvp) and jvp(vmap)", async () => {
    const f = (x: T) => x.exp().sum();
    const xs = f64([[0, 1], [2, 3]]);
    const ts = f64([[1, 0], [0, 1]]);
    const a = nb.vmap((x: T, t: T) => nb.jvp(f, [x], [t])[1])(xs, ts);
    await assertAllClose(a, [1, Math.exp(3)]);
    const [, b] = nb.jvp((x: T) => nb.vmap(f)(x), [xs], [ts]);
    await assertAllClose(b, a);
  });
  await t.step("vmap(hessian) of per-example functions", async () => {
    const h = nb.vmap(nb.hessian((x: T) => x.pow(3).sum()))(f64([[1, 2], [3, 4]]));
    await assertAllClose(h, [[[6, 0], [0, 12]], [[18, 0], [0, 24]]]);
  });
});

Deno.test("perturbation confusion is avoided by trace levels", async (t) => {
  await t.step("grad(x => grad(y => x·y)(2))(3) = 1", async () => {
    const g = nb.grad((x: T) => nb.grad((y: T) => x.mul(y))(nb.tensor(2)))(nb.tensor(3));
    await assertAllClose(g, 1);
  });
  await t.step("Siskind–Pearlmutter: d/dx [x · d/dy (x + y)] at 1 is 1, not 2", async () => {
    const inner = (x: T) => nb.grad((y: T) => x.add(y))(nb.tensor(1));
    await assertAllClose(nb.grad((x: T) => x.mul(inner(x)))(nb.tensor(1)), 1);
    const [, tan] = nb.jvp((x: T) => x.mul(inner(x)), [nb.tensor(1)], [nb.tensor(1)]);
    await assertAllClose(tan, 1);
  });
  await t.step("jvp inside grad over a closure", async () => {
    // d/dx [jvp_y (x·y²) at y = 2 along 1] = d/dx [4x] = 4
    const g = nb.grad((x: T) =>
      nb.jvp((y: T) => x.mul(y.square()), [nb.tensor(2)], [nb.tensor(1)])[1]
    )(nb.tensor(3));
    await assertAllClose(g, 4);
  });
  await t.step("grad inside jvp over a closure", async () => {
    // d/dy (x·y)² = 2x²y; its derivative in x along 1 at (x, y) = (3, 2) is 4xy = 24
    const [, tan] = nb.jvp((x: T) => nb.grad((y: T) => x.mul(y).square())(nb.tensor(2)), [
      nb.tensor(3),
    ], [
      nb.tensor(1),
    ]);
    await assertAllClose(tan, 24);
  });
  await t.step("vmap inside grad over a closure", async () => {
    const g = nb.grad((x: T) => nb.vmap((y: T) => x.mul(y))(nb.tensor([1, 2, 3])).sum())(
      nb.tensor(5),
    );
    await assertAllClose(g, 6);
  });
});

Deno.test("stopGradient", async (t) => {
  await t.step("blocks the gradient but keeps the value", async () => {
    const f = (x: T) => nb.stopGradient(x.square()).mul(x);
    await assertAllClose(f(nb.tensor(3)), 27);
    await assertAllClose(nb.grad(f)(nb.tensor(3)), 9);
  });
  await t.step("blocks forward-mode tangents too", async () => {
    const [, tan] = nb.jvp((x: T) => nb.stopGradient(x).add(x), [nb.tensor([1, 2])], [
      nb.tensor([1, 1]),
    ]);
    await assertAllClose(tan, [1, 1]);
  });
  await t.step("under vmap", async () => {
    const g = nb.vmap(nb.grad((x: T) => nb.stopGradient(x).mul(x).sum()))(
      nb.tensor([[1, 2], [3, 4]]),
    );
    await assertAllClose(g, [[1, 2], [3, 4]]);
  });
});

Deno.test("customVjp", async (t) => {
  // f(x) = x³ with a bwd that is deliberately not 3x² (so the test sees which rule is used).
  const cube = nb.customVjp(
    (x: T) => x.pow(3),
    (x: T) => [x.pow(3), x] as [T, T],
    (x: T, ct: T) => [ct.mul(x).mul(10)],
  );
  await t.step("the value is f's; grad uses bwd", async () => {
    await assertAllClose(cube(nb.tensor(2)), 8);
    await assertAllClose(nb.grad((x: T) => cube(x))(nb.tensor(2)), 20);
    await assertAllClose(nb.grad((x: T) => cube(x.mul(3)).mul(2))(nb.tensor(1)), 2 * 10 * 3 * 3);
  });
  await t.step("vjp and jacrev use bwd", async () => {
    const [y, back] = nb.vjp(cube, nb.tensor([1, 2]));
    await assertAllClose(y, [1, 8]);
    await assertAllClose(back(nb.tensor([1, 1]))[0], [10, 20]);
    await assertAllClose(nb.jacrev(cube)(nb.tensor([1, 2])), [[10, 0], [0, 20]]);
  });
  await t.step("a stable log(1 + e^x) with its own gradient", async () => {
    const softplus = nb.customVjp(
      (x: T) => nb.log1p(nb.exp(x.neg().abs().neg())).add(nb.relu(x)),
      (x: T) => [nb.log1p(nb.exp(x.abs().neg())).add(nb.relu(x)), x] as [T, T],
      (x: T, ct: T) => [ct.mul(nb.sigmoid(x))],
    );
    const g = nb.grad((x: T) => softplus(x).sum())(nb.tensor([-1e4, 0, 1e4]));
    await assertAllClose(g, [0, 0.5, 1]);
  });
  await t.step("multiple arguments, null cotangents and non-tensor residuals", async () => {
    const f = nb.customVjp(
      (a: T, b: T, k: T) => a.mul(b).mul(k),
      (a: T, b: T, k: T) =>
        [a.mul(b).mul(k), { a, b, note: "r" }] as [T, { a: T; b: T; note: string }],
      (r: { a: T; b: T; note: string }, ct: T) => {
        assert.equal(r.note, "r");
        return [ct.mul(r.b), ct.mul(r.a).mul(100), null];
      },
    );
    const [ga, gb, gk] = nb.grad((a: T, b: T, k: T) => f(a, b, k).sum(), { argnums: [0, 1, 2] })(
      nb.tensor([1, 2]),
      nb.tensor([3, 4]),
      nb.tensor([5, 6]),
    );
    await assertAllClose(ga, [3, 4]);
    await assertAllClose(gb, [100, 200]);
    await assertAllClose(gk, [0, 0]);
  });
  await t.step("pytree output and pytree argument", async () => {
    const f = nb.customVjp(
      (p: { x: T; y: T }) => ({ s: p.x.add(p.y), d: [p.x.sub(p.y)] }),
      (p: { x: T; y: T }) => [{ s: p.x.add(p.y), d: [p.x.sub(p.y)] }, null],
      (
        _r: null,
        ct: { s: T; d: T[] },
      ) => [{ x: ct.s.add(ct.d[0]).mul(2), y: ct.s.sub(ct.d[0]).mul(2) }],
    );
    const g = nb.grad((p: { x: T; y: T }) => {
      const o = f(p);
      return o.s.mul(3).add(o.d[0]).sum();
    })({ x: nb.tensor(1), y: nb.tensor(2) });
    // ct.s = 3, ct.d = 1: x gets 2·4 = 8, y gets 2·2 = 4 (twice the true gradient).
    await assertAllClose(g, { x: 8, y: 4 });
  });
  await t.step("grad(grad(f)) differentiates bwd", async () => {
    const sq = nb.customVjp(
      (x: T) => x.square(),
      (x: T) => [x.square(), x] as [T, T],
      (x: T, ct: T) => [ct.mul(x.pow(3))],
    );
    // first derivative by bwd: x³; second: 3x²
    await assertAllClose(nb.grad(nb.grad(sq))(nb.tensor(2)), 12);
  });
  await t.step("vmap of a customVjp function and per-example gradients use bwd", async () => {
    await assertAllClose(nb.vmap(cube)(nb.tensor([1, 2])), [1, 8]);
    const g = nb.vmap(nb.grad((x: T) => cube(x)))(nb.tensor([1, 2]));
    await assertAllClose(g, [10, 20]);
  });
  await t.step("grad of a vmapped customVjp function uses bwd", async () => {
    const g = nb.grad((x: T) => nb.vmap(cube)(x).sum())(nb.tensor([1, 2]));
    await assertAllClose(g, [10, 20]);
    // A shared (unbatched) argument gets the sum over the batch of its cotangents.
    const scaled = nb.customVjp(
      (w: T, x: T) => w.mul(x),
      (w: T, x: T) => [w.mul(x), { w, x, tag: "res" }] as [T, { w: T; x: T; tag: string }],
      (r: { w: T; x: T; tag: string }, ct: T) => [ct.mul(r.x).mul(2), ct.mul(r.w)],
    );
    const xs = nb.tensor([1, 2, 3]);
    const [gw, gx] = nb.grad(
      (w: T, xs: T) => nb.vmap((x: T) => scaled(w, x))(xs).sum(),
      { argnums: [0, 1] },
    )(nb.tensor(5), xs);
    await assertAllClose(gw, 2 * (1 + 2 + 3));
    await assertAllClose(gx, [5, 5, 5]);
    await assertAllClose(nb.vmap((x: T) => scaled(nb.tensor(5), x))(xs), [5, 10, 15]);
  });
  await t.step("forward mode raises the documented TypeError", () => {
    const message = /customVjp: .*forward mode/;
    assert.throws(() => nb.jvp(cube, [nb.tensor(1)], [nb.tensor(1)]), {
      name: "TypeError",
      message,
    });
    assert.throws(() => nb.jacfwd(cube)(nb.tensor([1, 2])), { name: "TypeError", message });
  });
  await t.step("forward over reverse (hessian) differentiates bwd in forward mode", async () => {
    // jacrev gives bwd's 10x; its Jacobian is 10 on the diagonal.
    await assertAllClose(nb.hessian((x: T) => cube(x).sum())(nb.tensor([1, 2])), [[10, 0], [
      0,
      10,
    ]]);
  });
  await t.step("a bwd with the wrong number of cotangents is a TypeError", () => {
    const bad = nb.customVjp((x: T) => x, (x: T) => [x, null] as [T, null], () => []);
    assert.throws(() => nb.grad(bad)(nb.tensor(1)), TypeError);
  });
});

Deno.test("errors", async (t) => {
  await t.step("a non-scalar grad output is a TypeError naming the shape", () => {
    assert.throws(() => nb.grad((x: T) => x.mul(2))(nb.zeros([2, 3])), {
      name: "TypeError",
      message: /\[2,3\]/,
    });
    assert.throws(() => nb.grad((_x: T) => 3)(nb.tensor(1)), TypeError);
  });
  await t.step("an int32 input to grad is a TypeError naming the dtype", () => {
    assert.throws(() => nb.grad((x: T) => x.sum())(nb.tensor([1, 2], { dtype: "int32" })), {
      name: "TypeError",
      message: /int32/,
    });
    assert.throws(() => nb.grad((x: T) => x.sum())([1, 2] as unknown as T), TypeError);
  });
  await t.step("an integer grad output is a TypeError naming the dtype", () => {
    assert.throws(() => nb.grad((x: T) => x.argmax())(nb.tensor([1, 2])), {
      name: "TypeError",
      message: /int32\[\]/,
    });
  });
  await t.step("vmap with mismatched batch sizes is a RangeError", () => {
    assert.throws(() => nb.vmap((a: T, b: T) => a.add(b))(nb.zeros([2, 3]), nb.zeros([3, 3])), {
      name: "RangeError",
      message: /2.*3/,
    });
  });
  await t.step("vmap: a batch axis out of range is a RangeError", () => {
    assert.throws(() => nb.vmap((a: T) => a, { inAxes: 2 })(nb.zeros([2, 3])), RangeError);
  });
  await t.step("vmap: inAxes of the wrong length is a TypeError", () => {
    assert.throws(() => nb.vmap((a: T) => a, { inAxes: [0, 0] })(nb.zeros([2, 3])), TypeError);
  });
  await t.step("a tracer used after its transformation finished is an Error", () => {
    let leaked: T | null = null;
    nb.grad((x: T) => {
      leaked = x.mul(2);
      return x.sum();
    })(nb.tensor([1, 2]));
    assert.throws(() => leaked!.add(1), { name: "Error", message: /finished transformation/ });
    let leakedB: T | null = null;
    nb.vmap((x: T) => (leakedB = x.exp()))(nb.tensor([1, 2]));
    assert.throws(() => leakedB!.add(1), { name: "Error", message: /finished transformation/ });
    let leakedJ: T | null = null;
    nb.jvp((x: T) => (leakedJ = x.sin()), [nb.tensor(1)], [nb.tensor(1)]);
    assert.throws(() => nb.add(nb.tensor(1), leakedJ!), Error);
    assert.throws(() => leakedJ!.dataSync(), Error);
  });
  await t.step("a leaked tracer is caught even next to a live one", () => {
    let leaked: T | null = null;
    nb.grad((x: T) => {
      leaked = x;
      return x.sum();
    })(nb.tensor([1, 2]));
    assert.throws(() => nb.grad((y: T) => y.mul(leaked!).sum())(nb.tensor([1, 2])), Error);
  });
});
