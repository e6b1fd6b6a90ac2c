import assert from "node:assert/strict";
import * as nb from "../../mod.ts";

const { optim, tensor } = nb;
const TOL = { rtol: 1e-4, atol: 1e-6 };

const P0 = [1, -2];
const GRADS = [[0.5, -1], [2, 0.25], [-1.5, 3]];
const params0 = () => ({ w: tensor(P0) });

/** Runs three updates (applying them to the params) and returns the per-step updates. */
async function runOpt(
  opt: nb.optim.GradientTransformation<unknown>,
): Promise<number[][]> {
  let params = params0();
  let state = opt.init(params);
  const out: number[][] = [];
  for (const g of GRADS) {
    const [u, next] = opt.update({ w: tensor(g) }, state, params);
    out.push(await u.w.toArray() as number[]);
    params = optim.applyUpdates(params, u);
    state = next;
  }
  return out;
}

/** The same loop by hand: `rule(g, p, t, i)` returns the update of element i at step t. */
function byHand(
  rule: (g: number, p: number, t: number, i: number) => number,
): number[][] {
  const p = [...P0];
  const out: number[][] = [];
  GRADS.forEach((g, k) => {
    const u = g.map((gi, i) => rule(gi, p[i], k + 1, i));
    u.forEach((ui, i) => (p[i] += ui));
    out.push(u);
  });
  return out;
}

Deno.test("optimizers match their exact rules over three steps", async (t) => {
  await t.step("sgd plain", async () => {
    const lr = 0.1;
    await nb.testing.assertAllClose(await runOpt(optim.sgd(lr)), byHand((g) => -lr * g), TOL);
  });

  await t.step("sgd momentum", async () => {
    const lr = 0.1, mu = 0.9;
    const m = [0, 0];
    const exp = byHand((g, _p, _t, i) => {
      m[i] = g + mu * m[i];
      return -lr * m[i];
    });
    await nb.testing.assertAllClose(await runOpt(optim.sgd(lr, { momentum: mu })), exp, TOL);
  });

  await t.step("sgd nesterov", async () => {
    const lr = 0.1, mu = 0.9;
    const m = [0, 0];
    const exp = byHand((g, _p, _t, i) => {
      m[i] = g + mu * m[i];
      return -lr * (g + mu * m[i]);
    });
    await nb.testing.assertAllClose(
      await runOpt(optim.sgd(lr, { momentum: mu, nesterov: true })),
      exp,
      TOL,
    );
  });

  await t.step("adagrad", async () => {
    const lr = 0.3, init = 0.1, eps = 1e-7;
    const s = [init, init];
    const exp = byHand((g, _p, _t, i) => {
      s[i] += g * g;
      return -lr * g / Math.sqrt(s[i] + eps);
    });
    await nb.testing.assertAllClose(await runOpt(optim.adagrad(lr)), exp, TOL);
    const s2 = [0.5, 0.5];
    const exp2 = byHand((g, _p, _t, i) => {
      s2[i] += g * g;
      return -lr * g / Math.sqrt(s2[i] + 1e-3);
    });
    await nb.testing.assertAllClose(
      await runOpt(optim.adagrad(lr, { initialAccumulatorValue: 0.5, eps: 1e-3 })),
      exp2,
      TOL,
    );
  });

  await t.step("adadelta", async () => {
    const lr = 1, rho = 0.9, eps = 1e-6;
    const eg = [0, 0], ex = [0, 0];
    const exp = byHand((g, _p, _t, i) => {
      eg[i] = rho * eg[i] + (1 - rho) * g * g;
      const d = Math.sqrt(ex[i] + eps) / Math.sqrt(eg[i] + eps) * g;
      ex[i] = rho * ex[i] + (1 - rho) * d * d;
      return -lr * d;
    });
    await nb.testing.assertAllClose(await runOpt(optim.adadelta(lr)), exp, TOL);
    const eg2 = [0, 0], ex2 = [0, 0];
    const exp2 = byHand((g, _p, _t, i) => {
      eg2[i] = 0.5 * eg2[i] + 0.5 * g * g;
      const d = Math.sqrt(ex2[i] + 0.1) / Math.sqrt(eg2[i] + 0.1) * g;
      ex2[i] = 0.5 * ex2[i] + 0.5 * d * d;
      return -0.7 * d;
    });
    await nb.testing.assertAllClose(
      await runOpt(optim.adadelta(0.7, { rho: 0.5, eps: 0.1 })),
      exp2,
      TOL,
    );
  });

  await t.step("rmsprop", async () => {
    const lr = 0.01, decay = 0.9, eps = 1e-8;
    const v = [0, 0];
    const exp = byHand((g, _p, _t, i) => {
      v[i] = decay * v[i] + (1 - decay) * g * g;
      return -lr * g / (Math.sqrt(v[i]) + eps);
    });
    await nb.testing.assertAllClose(await runOpt(optim.rmsprop(lr)), exp, TOL);
  });

  const adamRule = (lr: number, b1: number, b2: number, eps: number, wd?: number) => {
    const m = [0, 0], v = [0, 0];
    return (g: number, p: number, t: number, i: number) => {
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const mh = m[i] / (1 - b1 ** t), vh = v[i] / (1 - b2 ** t);
      const dir = mh / (Math.sqrt(vh) + eps);
      return wd === undefined ? -lr * dir : -lr * (dir + wd * p);
    };
  };

  await t.step("adam", async () => {
    await nb.testing.assertAllClose(
      await runOpt(optim.adam(0.1)),
      byHand(adamRule(0.1, 0.9, 0.999, 1e-8)),
      TOL,
    );
    await nb.testing.assertAllClose(
      await runOpt(optim.adam(0.05, { b1: 0.5, b2: 0.75, eps: 0.01 })),
      byHand(adamRule(0.05, 0.5, 0.75, 0.01)),
      TOL,
    );
  });

  await t.step("adamw", async () => {
    await nb.testing.assertAllClose(
      await runOpt(optim.adamw(0.1)),
      byHand(adamRule(0.1, 0.9, 0.999, 1e-8, 1e-4)),
      TOL,
    );
    await nb.testing.assertAllClose(
      await runOpt(optim.adamw(0.1, { weightDecay: 0.5, b1: 0.8 })),
      byHand(adamRule(0.1, 0.8, 0.999, 1e-8, 0.5)),
      TOL,
    );
    assert.throws(
      () => optim.adamw(0.1).update({ w: tensor([1, 2]) }, optim.adamw(0.1).init(params0())),
      TypeError,
    );
  });
});

Deno.test("schedules", async (t) => {
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);

  await t.step("constantSchedule", () => {
    const s = optim.constantSchedule(0.3);
    for (const step of [0, 1, 7, 1000]) assert.equal(s(step), 0.3);
  });

  await t.step("exponentialDecay", () => {
    const s = optim.exponentialDecay(2, 4, 0.5);
    for (const step of [0, 1, 3, 4, 6, 10]) close(s(step), 2 * 0.5 ** (step / 4));
    const st = optim.exponentialDecay(2, 4, 0.5, { staircase: true });
    for (const step of [0, 1, 3, 4, 6, 10]) close(st(step), 2 * 0.5 ** Math.floor(step / 4));
    close(st(3), 2);
    close(st(7), 1);
    close(st(8), 0.5);
  });

  await t.step("cosineDecaySchedule with alpha", () => {
    const init = 0.8, steps = 10, alpha = 0.25;
    const s = optim.cosineDecaySchedule(init, steps, { alpha });
    for (const step of [0, 3, 5, 10, 20]) {
      const tt = Math.min(step, steps) / steps;
      close(s(step), init * ((1 - alpha) * 0.5 * (1 + Math.cos(Math.PI * tt)) + alpha));
    }
    close(s(0), 0.8);
    close(s(5), 0.8 * (0.75 * 0.5 + 0.25));
    close(s(10), 0.2);
    close(s(100), 0.2);
    const s0 = optim.cosineDecaySchedule(1, 10);
    close(s0(10), 0);
  });

  await t.step("warmupCosineDecaySchedule (decaySteps includes the warm-up)", () => {
    const s = optim.warmupCosineDecaySchedule({
      initValue: 0.1,
      peakValue: 1,
      warmupSteps: 4,
      decaySteps: 14,
      endValue: 0.2,
    });
    close(s(0), 0.1);
    close(s(2), 0.55);
    close(s(4), 1);
    // Cosine over the 10 steps after warm-up.
    for (const step of [4, 6, 9, 12, 14]) {
      const tt = (step - 4) / 10;
      close(s(step), 0.2 + 0.8 * 0.5 * (1 + Math.cos(Math.PI * tt)));
    }
    close(s(9), 0.6);
    close(s(14), 0.2);
    close(s(50), 0.2);
  });

  await t.step("a schedule as sgd's learning rate uses step 0 first", async () => {
    const sched = (step: number) => [0.5, 0.25, 0.125][step] ?? 0;
    const exp = byHand((g, _p, t) => -sched(t - 1) * g);
    await nb.testing.assertAllClose(await runOpt(optim.sgd(sched)), exp, TOL);
    const seen: number[] = [];
    const rec = (step: number) => (seen.push(step), 0.1);
    await runOpt(optim.adam(rec));
    assert.deepEqual(seen, [0, 1, 2]);
  });
});

Deno.test("gradient transforms", async (t) => {
  const p = { a: tensor([1, 2]), b: tensor(3) };

  await t.step("clipByGlobalNorm below and above the threshold", async () => {
    const g = { a: tensor([3, 0]), b: tensor(4) }; // norm 5
    const [below] = optim.clipByGlobalNorm(6).update(g, {});
    await nb.testing.assertAllClose(below, { a: [3, 0], b: 4 });
    const [equal] = optim.clipByGlobalNorm(5).update(g, {});
    await nb.testing.assertAllClose(equal, { a: [3, 0], b: 4 });
    const [above] = optim.clipByGlobalNorm(2).update(g, {});
    await nb.testing.assertAllClose(above, { a: [1.2, 0], b: 1.6 });
  });

  await t.step("addDecayedWeights", async () => {
    const [u] = optim.addDecayedWeights(0.1).update({ a: tensor([1, 1]), b: tensor(0) }, {}, p);
    await nb.testing.assertAllClose(u, { a: [1.1, 1.2], b: 0.3 });
    assert.throws(() => optim.addDecayedWeights(0.1).update({ a: tensor(1) }, {}), TypeError);
  });

  await t.step("clip", async () => {
    const [u] = optim.clip(1.5).update({ a: tensor([-3, 0.5]), b: tensor(2) }, {});
    await nb.testing.assertAllClose(u, { a: [-1.5, 0.5], b: 1.5 });
  });

  await t.step("scale", async () => {
    const [u] = optim.scale(-0.5).update({ a: tensor([2, -4]), b: tensor(1) }, {});
    await nb.testing.assertAllClose(u, { a: [-1, 2], b: -0.5 });
  });

  await t.step("masked(setToZero()) freezes", async () => {
    const opt = optim.chain(optim.masked(optim.setToZero(), { a: true, b: false }), optim.sgd(1));
    let params = { a: tensor([1, 2]), b: tensor(3) };
    let state = opt.init(params);
    for (let i = 0; i < 3; i++) {
      const [u, s] = opt.update({ a: tensor([1, 1]), b: tensor(1) }, state, params);
      params = optim.applyUpdates(params, u);
      state = s;
    }
    await nb.testing.assertAllClose(params, { a: [1, 2], b: 0 });
    const fn = optim.masked(optim.scale(2), (ps: unknown) => nb.tree.map(() => false, ps));
    const [u] = fn.update({ a: tensor([1, 1]), b: tensor(1) }, fn.init(p), p);
    await nb.testing.assertAllClose(u, { a: [1, 1], b: 1 });
  });

  await t.step("chain order matters", async () => {
    const g = { a: tensor([3, 0]), b: tensor(4) };
    const clipThenScale = optim.chain(optim.clipByGlobalNorm(1), optim.scale(10));
    const scaleThenClip = optim.chain(optim.scale(10), optim.clipByGlobalNorm(1));
    const [u1] = clipThenScale.update(g, clipThenScale.init(p), p);
    const [u2] = scaleThenClip.update(g, scaleThenClip.init(p), p);
    await nb.testing.assertAllClose(u1, { a: [6, 0], b: 8 });
    await nb.testing.assertAllClose(u2, { a: [0.6, 0], b: 0.8 });
    const wdThenSgd = optim.chain(optim.addDecayedWeights(1), optim.sgd(0.5));
    const [u3] = wdThenSgd.update({ a: tensor([0, 0]), b: tensor(1) }, wdThenSgd.init(p), p);
    await nb.testing.assertAllClose(u3, { a: [-0.5, -1], b: -2 });
  });

  await t.step("an old state stays valid", async () => {
    for (
      const opt of [
        optim.adam(0.1),
        optim.sgd(0.1, { momentum: 0.9 }),
        optim.chain(optim.clipByGlobalNorm(1), optim.adagrad(0.1)),
      ] as nb.optim.GradientTransformation<unknown>[]
    ) {
      const params = params0();
      const s0 = opt.init(params);
      const [, s1] = opt.update({ w: tensor([1, 1]) }, s0, params);
      const [ua, s2a] = opt.update({ w: tensor([2, -1]) }, s1, params);
      // Advance further from s1 and from s2a; s1 must not change.
      opt.update({ w: tensor([5, 5]) }, s2a, params);
      const [ub, s2b] = opt.update({ w: tensor([2, -1]) }, s1, params);
      await nb.testing.assertAllClose(ub, ua, { rtol: 0, atol: 0 });
      await nb.testing.assertAllClose(s2b, s2a, { rtol: 0, atol: 0 });
      const [u0a] = opt.update({ w: tensor([1, 1]) }, s0, params);
      const [u0b] = opt.update({ w: tensor([1, 1]) }, s0, params);
      await nb.testing.assertAllClose(u0a, u0b, { rtol: 0, atol: 0 });
    }
  });
});
