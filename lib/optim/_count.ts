/**
 * Step counts and learning rates that work both eagerly and inside `jit`. An optimizer's count
 * is an int32 scalar tensor (as optax's), so a jitted training step sees it as a traced input
 * and compiles once, not once per step. Where the count is concrete (eager code), rates and
 * bias corrections are computed in JavaScript numbers exactly as before; inside `jit` they are
 * computed by tensor operations on the traced count.
 *
 * @module
 */

import { getDefaultDevice } from "../core/backend.ts";
import { Tensor } from "../core/tensor.ts";
import { zeros } from "../ops/creation.ts";
import { pow } from "../ops/elementwise.ts";
import * as tree from "../tree.ts";
import type { LearningRate, Schedule } from "./transform.ts";

/** A step count: an int32 scalar tensor (a plain number in states saved before counts were). */
export type Count = Tensor | number;

// The tensor forms of the library's schedules, for counts only known inside `jit`.
const tensorForms = new WeakMap<Schedule, (step: Tensor) => Tensor>();

/** Gives `schedule` a form over a traced step, used inside `jit`. */
export function withTensorForm(schedule: Schedule, form: (step: Tensor) => Tensor): Schedule {
  tensorForms.set(schedule, form);
  return schedule;
}

/** Count 0, on the device of the first tensor of `params`. */
export function zeroCount(params: unknown): Tensor {
  const first = tree.leaves(params).find((l): l is Tensor => l instanceof Tensor);
  return zeros([], { dtype: "int32", device: first?.device ?? getDefaultDevice() });
}

/** `count + 1`. */
export function nextCount(count: Count): Count {
  return typeof count === "number" ? count + 1 : count.add(1);
}

/** The count as a number when it is known now (eagerly), else `null` (traced inside `jit`). */
export function knownCount(count: Count): number | null {
  if (typeof count === "number") return count;
  const known = count.concrete();
  return known === null ? null : known.item();
}

/** The learning rate at `count`: a number when the count is known, else a traced scalar. */
export function rateAt(op: string, lr: LearningRate, count: Count): number | Tensor {
  if (typeof lr === "number") return lr;
  const step = knownCount(count);
  if (step !== null) return lr(step);
  const form = tensorForms.get(lr);
  if (form === undefined) {
    throw new TypeError(
      `optim.${op}: the learning-rate schedule is a JavaScript function of the step, which inside jit is a traced value; use optim's schedules (they work inside jit) or a constant rate`,
    );
  }
  return form((count as Tensor).astype("float32"));
}

/** `1 - base^count`: Adam's bias correction, a number when the count is known. */
export function oneMinusPower(base: number, count: Count): number | Tensor {
  const step = knownCount(count);
  if (step !== null) return 1 - base ** step;
  return pow(base, (count as Tensor).astype("float32")).neg().add(1);
}

/** `-x` for a rate that is a number or a tensor. */
export function negated(x: number | Tensor): number | Tensor {
  return typeof x === "number" ? -x : x.neg();
}
