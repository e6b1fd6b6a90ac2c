import assert from "node:assert/strict";
import * as nb from "../../mod.ts";
import { wasmBackend } from "../backends/wasm/backend.ts";

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
    assert.ok(Number.isFinite(value.item() as number));
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
    assert.ok(Math.abs((value.item() as number) - (aux.h.sum().item() as number)) < 1e-3);
    assert.deepEqual(g.shape, [64, 256]);
    const second = nb.grad((s: nb.Tensor) =>
      nb.grad((u: nb.Tensor) => u.mul(s).sin().sum())(w).sum()
    );
    assert.ok(Number.isFinite(second(nb.tensor(0.5, { device: "wasm" })).item() as number));
  });
});
