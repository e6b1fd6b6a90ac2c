/**
 * Argument checks of the optimizers: hyperparameters when a transformation is made, and on
 * `update` the state and the pytrees it is given (the gradients must have the structure and
 * leaf shapes of the parameters the state was made for; a mismatch would otherwise broadcast
 * silently into the parameters).
 */

import { fmt, shapesEqual } from "../core/shape.ts";
import { Tensor } from "../core/tensor.ts";
import { kindOf } from "../ops/_coerce.ts";
import * as tree from "../tree.ts";

/** What a pytree is to an optimizer, as messages name it: plural and singular. */
export type Role = readonly [plural: string, singular: string];

/** The gradients given to `update`. */
export const GRADIENTS: Role = ["gradients", "gradient"];
/** A pytree of the state (moments and the like, shaped as the parameters). */
export const STATE: Role = ["state", "state"];
/** The parameters. */
export const PARAMS: Role = ["parameters", "parameter"];
/** The updates given to `applyUpdates`. */
export const UPDATES: Role = ["updates", "update"];

const describe = (x: unknown): string =>
  typeof x === "string" ? `string ${x}` : kindOf(x) === "number" ? `number ${x}` : kindOf(x);

/** A learning rate: a finite number or a schedule function. */
export function checkRate(op: string, lr: unknown): void {
  if (typeof lr === "function") return;
  if (typeof lr !== "number") {
    throw new TypeError(
      `optim.${op}: learningRate must be a number or a schedule, got ${describe(lr)}`,
    );
  }
  if (!Number.isFinite(lr)) {
    throw new RangeError(`optim.${op}: learningRate must be finite, got ${lr}`);
  }
}

/** A numeric hyperparameter (when given), optionally within `[min, max)` (or `[min, max]`). */
export function checkNumber(
  op: string,
  name: string,
  v: unknown,
  range?: { min: number; max?: number; closed?: boolean },
): void {
  if (v === undefined) return;
  if (typeof v !== "number") {
    throw new TypeError(`optim.${op}: ${name} must be a number, got ${describe(v)}`);
  }
  if (range === undefined) return;
  const { min, max = Infinity, closed = false } = range;
  if (v >= min && (closed ? v <= max : v < max)) return;
  const bound = max === Infinity ? `a number >= ${min}` : `in [${min}, ${max}${closed ? "]" : ")"}`;
  throw new RangeError(`optim.${op}: ${name} must be ${bound}, got ${v}`);
}

/** A transformation given to a combinator (`chain`, `masked`). */
export function checkTransform(op: string, what: string, t: unknown): void {
  const ok = typeof t === "object" && t !== null &&
    typeof (t as { init?: unknown }).init === "function" &&
    typeof (t as { update?: unknown }).update === "function";
  if (!ok) {
    throw new TypeError(
      `optim.${op}: ${what} must be a gradient transformation { init, update }, got ${describe(t)}`,
    );
  }
}

/** The state `update` is given: a plain object from `init()` holding `fields`. */
export function checkState<S>(op: string, state: S, fields: readonly string[]): S {
  const ok = typeof state === "object" && state !== null && !Array.isArray(state) &&
    fields.every((f) => f in state);
  if (!ok) {
    const got = typeof state === "object" && state !== null && !Array.isArray(state)
      ? "an object without its fields"
      : kindOf(state);
    throw new TypeError(`optim.${op}: update needs the state from init(), got ${got}`);
  }
  return state;
}

const possessive = (w: string) => (w.endsWith("s") ? `${w}'` : `${w}'s`);

/**
 * Checks that the leaves of `t` (`what`) are tensors and, given `like` (`whose`), that `t` has
 * its structure and leaf shapes.
 */
export function checkMatching(
  op: string,
  what: Role,
  t: unknown,
  whose?: Role,
  like?: unknown,
): void {
  const [leaves, def] = tree.flatten(t);
  const paths = tree.paths(t);
  const name = (i: number) => (paths[i] ? `${what[1]} ${paths[i]}` : what[1]);
  leaves.forEach((leaf, i) => {
    if (!(leaf instanceof Tensor)) {
      throw new TypeError(`optim.${op}: ${name(i)} must be a tensor, got ${describe(leaf)}`);
    }
  });
  if (whose === undefined) return;
  const [others, otherDef] = tree.flatten(like);
  if (!tree.sameStructure(def, otherDef)) {
    throw new TypeError(
      `optim.${op}: the ${possessive(what[0])} structure ${tree.describe(def)} differs from the ${
        possessive(whose[0])
      } ${tree.describe(otherDef)}`,
    );
  }
  leaves.forEach((leaf, i) => {
    const other = others[i];
    if (!(other instanceof Tensor)) return;
    const { shape } = leaf as Tensor;
    if (!shapesEqual(shape, other.shape)) {
      throw new RangeError(
        `optim.${op}: ${name(i)} has shape ${fmt(shape)} but the ${whose[1]} has ${
          fmt(other.shape)
        }`,
      );
    }
  });
}
