/**
 * The classic optimizers with optax's exact update rules (g = gradient, t = step count after
 * the update, from 1). Each is a `GradientTransformation` whose state is a plain object of
 * tensors and a step count.
 *
 * @module
 */

import { zerosLike } from "../ops/creation.ts";
import {
  checkMatching,
  checkNumber,
  checkRate,
  checkState,
  GRADIENTS,
  PARAMS,
  STATE,
} from "./_checks.ts";
import { type Count, negated, nextCount, oneMinusPower, rateAt, zeroCount } from "./_count.ts";
import {
  type GradientTransformation,
  type LearningRate,
  mapTensors,
  requireParams,
} from "./transform.ts";

/** The state of `sgd`: the step count and, with momentum, the velocity. */
export interface SgdState {
  /** Updates applied so far (an int32 scalar). */
  count: Count;
  /** The momentum trace (absent without momentum). */
  trace?: unknown;
}

/**
 * Stochastic gradient descent: `-lr·g`; with momentum `m = g + momentum·m`, update `-lr·m`
 * (nesterov: `-lr·(g + momentum·m)`).
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const opt = optim.sgd(0.1, { momentum: 0.9 });
 * let state = opt.init({ w: tensor(0) });
 * let u;
 * [u, state] = opt.update({ w: tensor(1) }, state);
 * [u, state] = opt.update({ w: tensor(1) }, state);
 * assert.ok(Math.abs(u.w.item() + 0.19) < 1e-6);
 * ```
 */
export function sgd(
  learningRate: LearningRate,
  opts: { momentum?: number; nesterov?: boolean } = {},
): GradientTransformation<SgdState> {
  checkRate("sgd", learningRate);
  const { momentum, nesterov = false } = opts;
  checkNumber("sgd", "momentum", momentum);
  return {
    init: (
      params,
    ) => {
      const count = zeroCount(params);
      return momentum ? { count, trace: mapTensors(zerosLike, params) } : { count };
    },
    update: (grads, state) => {
      checkState("sgd", state, momentum ? ["count", "trace"] : ["count"]);
      if (momentum) checkMatching("sgd", GRADIENTS, grads, STATE, state.trace);
      else checkMatching("sgd", GRADIENTS, grads);
      const lr = rateAt("sgd", learningRate, state.count);
      if (!momentum) {
        return [mapTensors((g) => g.mul(negated(lr)), grads), { count: nextCount(state.count) }];
      }
      const trace = mapTensors((g, m) => g.add(m.mul(momentum)), grads, state.trace);
      const direction = nesterov
        ? mapTensors((g, m) => g.add(m.mul(momentum)), grads, trace)
        : trace;
      return [mapTensors((d) => d.mul(negated(lr)), direction), {
        count: nextCount(state.count),
        trace,
      }];
    },
  };
}

/** The state of `adagrad`. */
export interface AdagradState {
  /** Updates applied so far (an int32 scalar). */
  count: Count;
  /** The running sum of squared gradients. */
  sum: unknown;
}

/**
 * AdaGrad: `s = s + g²`; update `-lr·g/√(s + eps)`.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const opt = optim.adagrad(1, { initialAccumulatorValue: 0, eps: 0 });
 * const [u] = opt.update({ w: tensor(2) }, opt.init({ w: tensor(0) }));
 * assert.equal(u.w.item(), -1);
 * ```
 */
export function adagrad(
  learningRate: LearningRate,
  opts: { initialAccumulatorValue?: number; eps?: number } = {},
): GradientTransformation<AdagradState> {
  checkRate("adagrad", learningRate);
  const { initialAccumulatorValue = 0.1, eps = 1e-7 } = opts;
  checkNumber("adagrad", "initialAccumulatorValue", initialAccumulatorValue, { min: 0 });
  checkNumber("adagrad", "eps", eps);
  return {
    init: (params) => ({
      count: zeroCount(params),
      sum: mapTensors((p) => zerosLike(p).add(initialAccumulatorValue), params),
    }),
    update: (grads, state) => {
      checkState("adagrad", state, ["count", "sum"]);
      checkMatching("adagrad", GRADIENTS, grads, STATE, state.sum);
      const lr = rateAt("adagrad", learningRate, state.count);
      const sum = mapTensors((s, g) => s.add(g.square()), state.sum, grads);
      const updates = mapTensors((g, s) => g.mul(negated(lr)).div(s.add(eps).sqrt()), grads, sum);
      return [updates, { count: nextCount(state.count), sum }];
    },
  };
}

/** The state of `adadelta`. */
export interface AdadeltaState {
  /** Updates applied so far (an int32 scalar). */
  count: Count;
  /** Running average of squared gradients. */
  eg: unknown;
  /** Running average of squared steps. */
  ex: unknown;
}

/**
 * AdaDelta: `Eg = ρEg + (1-ρ)g²`, `d = √(Ex + eps)/√(Eg + eps)·g`, `Ex = ρEx + (1-ρ)d²`;
 * update `-lr·d`.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const opt = optim.adadelta(1, { rho: 0.5, eps: 1 });
 * const [u] = opt.update({ w: tensor(2) }, opt.init({ w: tensor(0) }));
 * assert.ok(Math.abs(u.w.item() + 2 / Math.sqrt(3)) < 1e-6);
 * ```
 */
export function adadelta(
  learningRate: LearningRate,
  opts: { rho?: number; eps?: number } = {},
): GradientTransformation<AdadeltaState> {
  checkRate("adadelta", learningRate);
  const { rho = 0.9, eps = 1e-6 } = opts;
  checkNumber("adadelta", "rho", rho, { min: 0, max: 1, closed: true });
  checkNumber("adadelta", "eps", eps);
  return {
    init: (params) => ({
      count: zeroCount(params),
      eg: mapTensors(zerosLike, params),
      ex: mapTensors(zerosLike, params),
    }),
    update: (grads, state) => {
      checkState("adadelta", state, ["count", "eg", "ex"]);
      checkMatching("adadelta", GRADIENTS, grads, STATE, state.eg);
      const lr = rateAt("adadelta", learningRate, state.count);
      const eg = mapTensors((e, g) => e.mul(rho).add(g.square().mul(1 - rho)), state.eg, grads);
      const d = mapTensors(
        (g, e, x) => x.add(eps).sqrt().div(e.add(eps).sqrt()).mul(g),
        grads,
        eg,
        state.ex,
      );
      const ex = mapTensors((x, di) => x.mul(rho).add(di.square().mul(1 - rho)), state.ex, d);
      return [mapTensors((di) => di.mul(negated(lr)), d), {
        count: nextCount(state.count),
        eg,
        ex,
      }];
    },
  };
}

/** The state of `rmsprop`. */
export interface RmspropState {
  /** Updates applied so far (an int32 scalar). */
  count: Count;
  /** Running average of squared gradients. */
  nu: unknown;
}

/**
 * RMSProp: `v = decay·v + (1-decay)g²`; update `-lr·g/(√v + eps)`.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const opt = optim.rmsprop(1, { decay: 0.75, eps: 0 });
 * const [u] = opt.update({ w: tensor(2) }, opt.init({ w: tensor(0) }));
 * assert.equal(u.w.item(), -2);
 * ```
 */
export function rmsprop(
  learningRate: LearningRate,
  opts: { decay?: number; eps?: number } = {},
): GradientTransformation<RmspropState> {
  checkRate("rmsprop", learningRate);
  const { decay = 0.9, eps = 1e-8 } = opts;
  checkNumber("rmsprop", "decay", decay, { min: 0, max: 1, closed: true });
  checkNumber("rmsprop", "eps", eps);
  return {
    init: (params) => ({ count: zeroCount(params), nu: mapTensors(zerosLike, params) }),
    update: (grads, state) => {
      checkState("rmsprop", state, ["count", "nu"]);
      checkMatching("rmsprop", GRADIENTS, grads, STATE, state.nu);
      const lr = rateAt("rmsprop", learningRate, state.count);
      const nu = mapTensors((v, g) => v.mul(decay).add(g.square().mul(1 - decay)), state.nu, grads);
      const updates = mapTensors((g, v) => g.mul(negated(lr)).div(v.sqrt().add(eps)), grads, nu);
      return [updates, { count: nextCount(state.count), nu }];
    },
  };
}

/** The state of `adam` and `adamw`. */
export interface AdamState {
  /** Updates applied so far (an int32 scalar). */
  count: Count;
  /** First-moment estimate. */
  mu: unknown;
  /** Second-moment estimate. */
  nu: unknown;
}

/** Options of `adam`. */
export interface AdamOptions {
  /** Decay of the first moment (default 0.9). */
  b1?: number;
  /** Decay of the second moment (default 0.999). */
  b2?: number;
  /** Added to the root of the second moment (default 1e-8). */
  eps?: number;
}

function adamDirection(
  grads: unknown,
  state: AdamState,
  { b1 = 0.9, b2 = 0.999, eps = 1e-8 }: AdamOptions,
): [unknown, AdamState] {
  const t = nextCount(state.count);
  const mu = mapTensors((m, g) => m.mul(b1).add(g.mul(1 - b1)), state.mu, grads);
  const nu = mapTensors((v, g) => v.mul(b2).add(g.square().mul(1 - b2)), state.nu, grads);
  const c1 = oneMinusPower(b1, t);
  const c2 = oneMinusPower(b2, t);
  const direction = mapTensors((m, v) => m.div(c1).div(v.div(c2).sqrt().add(eps)), mu, nu);
  return [direction, { count: t, mu, nu }];
}

function checkAdam(op: string, learningRate: LearningRate, opts: AdamOptions): void {
  checkRate(op, learningRate);
  checkNumber(op, "b1", opts.b1, { min: 0, max: 1 });
  checkNumber(op, "b2", opts.b2, { min: 0, max: 1 });
  checkNumber(op, "eps", opts.eps);
}

function checkAdamUpdate(op: string, grads: unknown, state: AdamState): void {
  checkState(op, state, ["count", "mu", "nu"]);
  checkMatching(op, GRADIENTS, grads, STATE, state.mu);
}

const adamInit = (params: unknown): AdamState => ({
  count: zeroCount(params),
  mu: mapTensors(zerosLike, params),
  nu: mapTensors(zerosLike, params),
});

/**
 * Adam: `m = b1·m + (1-b1)g`, `v = b2·v + (1-b2)g²`, `m̂ = m/(1-b1^t)`, `v̂ = v/(1-b2^t)`;
 * update `-lr·m̂/(√v̂ + eps)`.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const opt = optim.adam(0.1);
 * const [u] = opt.update({ w: tensor(5) }, opt.init({ w: tensor(0) }));
 * assert.ok(Math.abs(u.w.item() + 0.1) < 1e-6); // the first step has size lr
 * ```
 */
export function adam(
  learningRate: LearningRate,
  opts: AdamOptions = {},
): GradientTransformation<AdamState> {
  checkAdam("adam", learningRate, opts);
  return {
    init: adamInit,
    update: (grads, state) => {
      checkAdamUpdate("adam", grads, state);
      const lr = rateAt("adam", learningRate, state.count);
      const [direction, next] = adamDirection(grads, state, opts);
      return [mapTensors((d) => d.mul(negated(lr)), direction as typeof grads), next];
    },
  };
}

/**
 * AdamW: Adam's direction plus `weightDecay·p`, all scaled by `-lr`.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const opt = optim.adamw(0.1, { weightDecay: 0.5 });
 * const params = { w: tensor(2) };
 * const [u] = opt.update({ w: tensor(5) }, opt.init(params), params);
 * assert.ok(Math.abs(u.w.item() + 0.1 * (1 + 0.5 * 2)) < 1e-6);
 * ```
 */
export function adamw(
  learningRate: LearningRate,
  opts: AdamOptions & { weightDecay?: number } = {},
): GradientTransformation<AdamState> {
  checkAdam("adamw", learningRate, opts);
  const { weightDecay = 1e-4 } = opts;
  checkNumber("adamw", "weightDecay", weightDecay);
  return {
    init: adamInit,
    update: (grads, state, params) => {
      checkAdamUpdate("adamw", grads, state);
      requireParams("adamw", params);
      checkMatching("adamw", PARAMS, params, GRADIENTS, grads);
      const lr = rateAt("adamw", learningRate, state.count);
      const [direction, next] = adamDirection(grads, state, opts);
      const updates = mapTensors(
        (d, p) => d.add(p.mul(weightDecay)).mul(negated(lr)),
        direction as typeof grads,
        params,
      );
      return [updates, next];
    },
  };
}
