/**
 * Learning-rate schedules with optax's argument order; steps count from 0. Each also has a form
 * over a traced step, so an optimizer using it works inside `jit`.
 *
 * @module
 */

import type { Tensor } from "../core/tensor.ts";
import { full } from "../ops/creation.ts";
import { cos, less, maximum, minimum, pow, where } from "../ops/elementwise.ts";
import type { Schedule } from "./transform.ts";
import { checkNumber } from "./_checks.ts";
import { withTensorForm } from "./_count.ts";

/**
 * The same value at every step.
 *
 * @example
 * ```ts
 * import { optim } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(optim.constantSchedule(0.1)(1000), 0.1);
 * ```
 */
export function constantSchedule(value: number): Schedule {
  checkNumber("constantSchedule", "value", value);
  return withTensorForm(() => value, (step) => full(step.shape, value));
}

/**
 * `initValue · decayRate^(step / transitionSteps)` (with `staircase`, the exponent is floored).
 *
 * @example
 * ```ts
 * import { optim } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const s = optim.exponentialDecay(1, 10, 0.5);
 * assert.equal(s(20), 0.25);
 * assert.equal(optim.exponentialDecay(1, 10, 0.5, { staircase: true })(15), 0.5);
 * ```
 */
export function exponentialDecay(
  initValue: number,
  transitionSteps: number,
  decayRate: number,
  opts: { staircase?: boolean } = {},
): Schedule {
  checkNumber("exponentialDecay", "initValue", initValue);
  checkNumber("exponentialDecay", "transitionSteps", transitionSteps);
  checkNumber("exponentialDecay", "decayRate", decayRate);
  if (!(transitionSteps > 0)) {
    throw new RangeError(
      `optim.exponentialDecay: transitionSteps must be > 0, got ${transitionSteps}`,
    );
  }
  return withTensorForm((step) => {
    const p = step / transitionSteps;
    return initValue * decayRate ** (opts.staircase ? Math.floor(p) : p);
  }, (step) => {
    // Steps are whole and non-negative, so integer division floors.
    const p = opts.staircase
      ? step.astype("int32").div(transitionSteps).astype("int32").astype("float32")
      : step.div(transitionSteps);
    return pow(decayRate, p).mul(initValue);
  });
}

/**
 * Cosine decay from `initValue` to `alpha·initValue` over `decaySteps`, constant after.
 *
 * @example
 * ```ts
 * import { optim } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const s = optim.cosineDecaySchedule(1, 100);
 * assert.deepEqual([s(0), s(50), s(100), s(200)], [1, 0.5, 0, 0].map((v, i) => i === 1 ? s(50) : v));
 * assert.ok(Math.abs(s(50) - 0.5) < 1e-12);
 * ```
 */
export function cosineDecaySchedule(
  initValue: number,
  decaySteps: number,
  opts: { alpha?: number } = {},
): Schedule {
  checkNumber("cosineDecaySchedule", "initValue", initValue);
  checkNumber("cosineDecaySchedule", "decaySteps", decaySteps);
  checkNumber("cosineDecaySchedule", "alpha", opts.alpha);
  if (!(decaySteps > 0)) {
    throw new RangeError(`optim.cosineDecaySchedule: decaySteps must be > 0, got ${decaySteps}`);
  }
  const { alpha = 0 } = opts;
  return withTensorForm((step) => {
    const t = Math.min(step, decaySteps) / decaySteps;
    const cosine = 0.5 * (1 + Math.cos(Math.PI * t));
    return initValue * ((1 - alpha) * cosine + alpha);
  }, (step) => {
    const cosine = halfCosine(minimum(step, decaySteps).div(decaySteps));
    return cosine.mul(1 - alpha).add(alpha).mul(initValue);
  });
}

/**
 * Linear warm-up from `initValue` to `peakValue` over `warmupSteps`, then cosine decay to
 * `endValue` at `decaySteps` (which includes the warm-up).
 *
 * @example
 * ```ts
 * import { optim } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const s = optim.warmupCosineDecaySchedule({ initValue: 0, peakValue: 1, warmupSteps: 10, decaySteps: 110, endValue: 0.1 });
 * assert.deepEqual([s(0), s(5), s(10), s(110)], [0, 0.5, 1, 0.1]);
 * ```
 */
export function warmupCosineDecaySchedule(opts: {
  initValue: number;
  peakValue: number;
  warmupSteps: number;
  decaySteps: number;
  endValue?: number;
}): Schedule {
  const op = "warmupCosineDecaySchedule";
  if (typeof opts !== "object" || opts === null) {
    throw new TypeError(`optim.${op}: options must be an object, got ${opts}`);
  }
  const { initValue, peakValue, warmupSteps, decaySteps, endValue = 0 } = opts;
  const required = { initValue, peakValue, warmupSteps, decaySteps };
  for (const [name, v] of Object.entries(required)) {
    if (v === undefined) {
      throw new TypeError(`optim.${op}: ${name} must be a number, got undefined`);
    }
    checkNumber(op, name, v);
  }
  checkNumber(op, "endValue", endValue);
  const span = Math.max(1, decaySteps - warmupSteps);
  return withTensorForm((step) => {
    if (step < warmupSteps) return initValue + ((peakValue - initValue) * step) / warmupSteps;
    const t = Math.min(step - warmupSteps, span) / span;
    return endValue + (peakValue - endValue) * 0.5 * (1 + Math.cos(Math.PI * t));
  }, (step) => {
    const warm = step.mul((peakValue - initValue) / Math.max(1, warmupSteps)).add(initValue);
    const t = minimum(maximum(step.sub(warmupSteps), 0), span).div(span);
    const decay = halfCosine(t).mul(peakValue - endValue).add(endValue);
    return where(less(step, warmupSteps), warm, decay);
  });
}

// 0.5·(1 + cos(π·t)) of a traced t.
function halfCosine(t: Tensor): Tensor {
  return cos(t.mul(Math.PI)).add(1).mul(0.5);
}
