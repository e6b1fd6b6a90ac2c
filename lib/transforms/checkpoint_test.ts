import assert from "node:assert/strict";
import * as nb from "../../mod.ts";
import { assertAllClose, checkGrads } from "../testing.ts";

type T = nb.Tensor;

const layer = (w: T, x: T): T => x.matmul(w).tanh().mul(x.sigmoid());
const deep = (block: (w: T, x: T) => T) => (w: T, x: T): T => block(w, block(w, block(w, x))).sum();
const w = nb.tensor([[0.5, -0.3, 0.2], [0.1, 0.4, -0.6], [-0.2, 0.3, 0.1]]);
const x = nb.tensor([[1, -0.5, 0.25], [0.3, 0.8, -1]]);
const policies = ["nothingSaveable", "dotsSaveable"] as const;

Deno.test("checkpoint: same values and derivatives as the function", async (t) => {
  for (const policy of policies) {
    const ck = nb.checkpoint(layer, { policy });
    await t.step(`${policy}: values, grad, jvp`, async () => {
      await assertAllClose(deep(ck)(w, x), deep(layer)(w, x), { rtol: 1e-6 });
      for (const argnums of [0, 1]) {
        await assertAllClose(
          nb.grad(deep(ck), { argnums })(w, x),
          nb.grad(deep(layer), { argnums })(w, x),
          { rtol: 1e-6, atol: 1e-7 },
        );
      }
      const dir = nb.onesLike(w).mul(0.1);
      await assertAllClose(
        nb.jvp((w: T) => deep(ck)(w, x), [w], [dir])[1],
        nb.jvp((w: T) => deep(layer)(w, x), [w], [dir])[1],
        { rtol: 1e-6 },
      );
    });
    await t.step(`${policy}: checkGrads at order 2, both modes, float64`, async () => {
      await checkGrads(deep(ck), [w.astype("float64"), x.astype("float64")], { order: 2 });
    });
    await t.step(`${policy}: vmap, jit(grad), grad(jit)`, async () => {
      const xs = nb.stack([x, x.mul(-2)]);
      const g = nb.vmap(nb.grad(deep(ck)), { inAxes: [null, 0] })(w, xs);
      const expected = nb.vmap(nb.grad(deep(layer)), { inAxes: [null, 0] })(w, xs);
      await assertAllClose(g, expected, { rtol: 1e-5, atol: 1e-7 });
      const plain = nb.grad(deep(layer))(w, x);
      await assertAllClose(nb.jit(nb.grad(deep(ck)))(w, x), plain, { rtol: 1e-5, atol: 1e-7 });
      await assertAllClose(nb.grad(nb.jit(deep(ck)))(w, x), plain, { rtol: 1e-5, atol: 1e-7 });
    });
  }
  await t.step("pytrees in and out, fixed non-tensor leaves", async () => {
    const f = nb.checkpoint((p: { w: T; scale: number }, x: T) => ({
      y: layer(p.w, x).mul(p.scale),
      tag: "kept",
    }));
    const out = f({ w, scale: 3 }, x);
    assert.equal(out.tag, "kept");
    await assertAllClose(out.y, layer(w, x).mul(3), { rtol: 1e-6 });
    const g = nb.grad((w: T) => f({ w, scale: 3 }, x).y.sum())(w);
    await assertAllClose(g, nb.grad((w: T) => layer(w, x).mul(3).sum())(w), { rtol: 1e-6 });
  });
  await t.step("inside scan: a checkpointed step differentiates like the plain one", async () => {
    const run = (step: (h: T, x: T) => T) => (_w: T, xs: T) =>
      nb.scan(
        (h: T, x: T) => {
          const next = step(h, x);
          return [next, next.sum()];
        },
        nb.zeros([3]),
        xs,
      )[1].sum();
    const cell = (h: T, x: T) => h.reshape([1, 3]).matmul(w).reshape([3]).add(x).tanh();
    const xs = nb.tensor([[1, 0, -1], [0.5, 0.5, 0.5], [-1, 2, 0]]);
    const plain = nb.grad(run(cell), { argnums: 1 })(w, xs);
    await assertAllClose(nb.grad(run(nb.checkpoint(cell)), { argnums: 1 })(w, xs), plain, {
      rtol: 1e-6,
    });
    await assertAllClose(nb.jit(nb.grad(run(nb.checkpoint(cell)), { argnums: 1 }))(w, xs), plain, {
      rtol: 1e-5,
      atol: 1e-7,
    });
  });
});

Deno.test("checkpoint: the backward pass keeps only what the policy allows", async (t) => {
  // The backward pass is one checkpoint equation; its inputs are what reverse mode kept.
  const kept = (policy: (typeof policies)[number]) => {
    const f = (w: T, x: T) => nb.checkpoint(layer, { policy })(w, x).sum();
    const eqs = nb.makeJaxpr(nb.grad(f))(w, x).equations.filter((e) =>
      e.prim.name === "checkpoint"
    );
    assert.equal(eqs.length, 2); // the forward part and the backward part
    return eqs[1].inputs.map((v) => v.aval.shape.join("x"));
  };
  await t.step("nothingSaveable: the inputs and the cotangent only", () => {
    // x [2,3] and w [3,3], to recompute x·w; the cotangent [2,3]
    assert.deepEqual(kept("nothingSaveable").sort(), ["2x3", "2x3", "3x3"]);
  });
  await t.step("dotsSaveable: the product instead of recomputing it", () => {
    // x (for sigmoid x and for xᵀ in w's gradient), the product x·w, the cotangent; w itself
    // is no longer needed
    assert.deepEqual(kept("dotsSaveable").sort(), ["2x3", "2x3", "2x3"]);
  });
});

Deno.test("checkpoint: bad input", () => {
  assert.throws(() => nb.checkpoint(3 as never), {
    name: "TypeError",
    message: /checkpoint: f must be a function, got number 3/,
  });
  assert.throws(() => nb.checkpoint(layer, { policy: "everything" as never }), {
    name: "RangeError",
    message:
      /checkpoint: policy must be one of "nothingSaveable", "dotsSaveable", got "everything"/,
  });
});
