import assert from "node:assert/strict";
import * as nb from "../../mod.ts";
import { wasmBackend } from "../backends/wasm/mod.ts";

const big = (seed: number) => nb.random.uniform(nb.random.key(seed), [64, 256], { device: "wasm" });

Deno.test("a top-level gradient frees what its machinery made, and keeps what it returns", async (t) => {
  const w = big(1), x = big(2);
  const loss = (w: nb.Tensor) => nb.tanh(x.mul(w)).mul(x).sigmoid().sum();
  nb.valueAndGrad(loss)(w); // warm-up: code paths, constants
  await t.step("the heap holds only the results afterwards", () => {
    const before = wasmBackend.stats().blocks;
    const [value, g] = nb.valueAndGrad(loss)(w);
    // The gradient is the only result big enough for a heap block; the intermediates (three
    // forward values, their cotangents) were freed on return.
    assert.equal(wasmBackend.stats().blocks, before + 1);
    assert.ok(Number.isFinite(value.item()));
    assert.deepEqual(g.shape, [64, 256]);
  });
  await t.step("values the user's code makes inside the function survive", async () => {
    let kept: nb.Tensor | null = null;
    const [, g] = nb.valueAndGrad((w: nb.Tensor) => {
      kept = nb.ones([64, 256], { device: "wasm" }).mul(3); // a constant, not a tracer
      return w.mul(kept).sum();
    })(w);
    assert.equal(kept!.sum().item(), 3 * 64 * 256);
    await nb.testing.assertAllClose(g, nb.full([64, 256], 3, { device: "wasm" }));
  });
  await t.step("aux outputs and nested gradients survive", async () => {
    type Aux = { h: nb.Tensor; twice: nb.Tensor };
    const [[value, aux], g] = nb.valueAndGrad((w: nb.Tensor): [nb.Tensor, Aux] => {
      const h = nb.tanh(w.mul(x));
      return [h.sum(), { h, twice: h.mul(2) }];
    }, { hasAux: true })(w);
    await nb.testing.assertAllClose(aux.twice, aux.h.mul(2));
    assert.ok(Math.abs(value.item() - aux.h.sum().item()) < 1e-3);
    assert.deepEqual(g.shape, [64, 256]);
    const second = nb.grad((s: nb.Tensor) =>
      nb.grad((u: nb.Tensor) => u.mul(s).sin().sum())(w).sum()
    );
    assert.ok(Number.isFinite(second(nb.tensor(0.5, { device: "wasm" })).item()));
  });
});

Deno.test("outside a transformation, an LSTM frees each step's gates as it goes", async () => {
  const before = nb.getDefaultDevice();
  await nb.setDevice("wasm");
  try {
    const rnn = nb.nn.lstm(32, 64);
    const params = rnn.init(nb.random.key(3));
    const xs = nb.random.normal(nb.random.key(4), [64, 12, 32]);
    rnn.apply(params, xs); // warm-up
    const blocks = wasmBackend.stats().blocks;
    const { hs, h, c } = rnn.apply(params, xs);
    // Kept: the input projection and its two operands (the inputs with a column of ones, the
    // weights with the bias row), the initial zero state, each step's h and c (12 × 2) and the
    // stacked hs: 30 blocks. Without the per-step scope every step would also leave its gates
    // and their products behind (about ten blocks more per step).
    const grown = wasmBackend.stats().blocks - blocks;
    assert.equal(grown, 3 + 2 + 2 * 12 + 1, `${grown} new heap blocks`);
    const [ref] = nb.valueAndGrad((x: nb.Tensor) => rnn.apply(params, x).hs.sum())(xs);
    assert.ok(Math.abs(hs.sum().item() - ref.item()) < 1e-3);
    assert.deepEqual([h.shape, c.shape], [[64, 64], [64, 64]]);
  } finally {
    await nb.setDevice(before);
  }
});

Deno.test("what a custom rule makes, and what it is given, stays the user's", async () => {
  const w = big(3), x = big(4);
  let scale: nb.Tensor | undefined; // made by the backward pass once, kept across calls
  const seen: nb.Tensor[] = []; // the cotangents the backward pass is handed
  const residuals: nb.Tensor[] = []; // the inputs the forward pass is handed
  const doubled = nb.customVjp(
    (a: nb.Tensor) => a.mul(2),
    (a: nb.Tensor) => {
      residuals.push(a);
      return [a.mul(2), null];
    },
    (_r: null, ct: nb.Tensor) => {
      seen.push(ct);
      return [ct.mul(scale ??= nb.full([64, 256], 2, { device: "wasm" }))];
    },
  );
  const loss = (w: nb.Tensor) => doubled(nb.tanh(x.mul(w))).sum();
  const reference = nb.grad((w: nb.Tensor) => nb.tanh(x.mul(w)).mul(2).sum())(w);
  nb.grad(loss)(w);
  const g = nb.grad(loss)(w); // the second call reuses the cached scale
  await nb.testing.assertAllClose(g, reference);
  await nb.testing.assertAllClose(scale!, nb.full([64, 256], 2));
  assert.equal(seen.length, 2);
  for (const t of [...seen, ...residuals]) assert.equal((await t.data()).length, 64 * 256);
});
