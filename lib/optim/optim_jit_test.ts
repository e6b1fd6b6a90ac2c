// Optimizers inside jit: the step count is a traced int32 scalar, so a jitted update compiles
// once and gives the eager updates, schedules included.

import * as nb from "../../mod.ts";
import assert from "node:assert/strict";

const { optim, tensor } = nb;
type T = nb.Tensor;

const schedule = optim.warmupCosineDecaySchedule({
  initValue: 0.01,
  peakValue: 0.1,
  warmupSteps: 2,
  decaySteps: 6,
  endValue: 0.02,
});
const transforms: [string, nb.optim.GradientTransformation][] = [
  ["sgd", optim.sgd(0.1)],
  ["sgd with nesterov momentum", optim.sgd(0.1, { momentum: 0.9, nesterov: true })],
  ["adagrad", optim.adagrad(0.1)],
  ["adadelta", optim.adadelta(0.5)],
  ["rmsprop", optim.rmsprop(0.05)],
  ["adam", optim.adam(0.1)],
  ["adamw", optim.adamw(0.1)],
  ["adam on a warm-up cosine schedule", optim.adam(schedule)],
  [
    "sgd on exponential decay, staircase",
    optim.sgd(optim.exponentialDecay(0.1, 2, 0.5, { staircase: true })),
  ],
  ["sgd on cosine decay", optim.sgd(optim.cosineDecaySchedule(0.1, 4, { alpha: 0.1 }))],
  ["sgd on a constant schedule", optim.sgd(optim.constantSchedule(0.1))],
  ["clip by global norm, then adam", optim.chain(optim.clipByGlobalNorm(1), optim.adam(0.1))],
];

Deno.test("optimizers give the same updates jitted and eager, compiling once", async (t) => {
  for (const [name, opt] of transforms) {
    await t.step(name, async () => {
      let stagings = 0;
      const step = nb.jit((grads: unknown, state: unknown, params: unknown) => {
        stagings++;
        return opt.update(grads, state, params);
      });
      const params = { w: tensor([1, -2, 3]), b: tensor(0.5) };
      let eager = opt.init(params), jitted = opt.init(params);
      for (let i = 0; i < 6; i++) {
        const grads = { w: tensor([0.5 * i, -1, 2]), b: tensor(1 - i) };
        const [u, s] = opt.update(grads, eager, params);
        const [ju, js] = step(grads, jitted, params);
        await nb.testing.assertAllClose(ju, u, { rtol: 1e-5, atol: 1e-7 });
        [eager, jitted] = [s, js];
      }
      assert.equal(stagings, 1, "one program for every step");
    });
  }
});

Deno.test("a schedule written as a JS function of the step is an error inside jit", () => {
  const opt = optim.sgd((step) => 0.1 / (1 + step));
  const params = { w: tensor([1, 2]) };
  const update = nb.jit((g: T, s: unknown) => opt.update({ w: g }, s as never));
  assert.throws(() => update(tensor([1, 1]), opt.init(params)), {
    name: "TypeError",
    message: /optim\.sgd: the learning-rate schedule is a JavaScript function/,
  });
  // Eagerly it works as always.
  const [u] = opt.update({ w: tensor([1, 1]) }, opt.init(params));
  assert.deepEqual([...u.w.dataSync()].map((v) => Math.round(v * 10)), [-1, -1]);
});

Deno.test("the step count is an int32 scalar on the parameters' device", () => {
  const state = optim.adam(0.1).init({ w: tensor([1, 2], { device: "cpu" }) });
  assert.deepEqual([state.count instanceof nb.Tensor, (state.count as T).dtype], [true, "int32"]);
  assert.equal((state.count as T).device, "cpu");
  const [, next] = optim.adam(0.1).update({ w: tensor([1, 1], { device: "cpu" }) }, state);
  assert.equal((next.count as T).item(), 1);
});
