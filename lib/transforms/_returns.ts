/**
 * What user functions give back to a transformation, checked in one place: a custom rule's
 * `fwd` pair and `bwd` cotangents, `grad`'s scalar output and `[value, aux]` pair, and the
 * cotangents and tangents users pass in the shape of a function's values. A wrong structure,
 * shape or dtype is an error that names the transformation, what was given and what was due,
 * never a silently broadcast or converted value.
 */

import type { Aval } from "../core/backend.ts";
import { isFloat } from "../core/dtype.ts";
import { fmt, shapesEqual } from "../core/shape.ts";
import { Tensor } from "../core/tensor.ts";
import { describe, sameStructure, type TreeDef } from "../tree.ts";
import { describeValue, tensorLeaves } from "./_args.ts";

/** The structure, shapes and dtypes a returned pytree must have. */
export interface Like {
  /** The pytree structure. */
  readonly def: TreeDef;
  /** The type of each leaf, in flatten order. */
  readonly avals: readonly Aval[];
}

/** The structure and leaf types of a flattened pytree of tensors. */
export function likeOf(leaves: readonly Tensor[], def: TreeDef): Like {
  return { def, avals: leaves.map(({ shape, dtype, device }) => ({ shape, dtype, device })) };
}

/**
 * The tensor leaves of `value` (`what`), checked to have the structure, shapes and dtypes of
 * `like` (`whose`): `customVjp: the cotangent bwd returned for argument 0 has shape [5], but
 * argument 0 has shape [3]`.
 */
export function leavesLike(
  op: string,
  what: string,
  whose: string,
  value: unknown,
  like: Like,
): Tensor[] {
  const [leaves, def] = tensorLeaves(op, what, value, false);
  if (!sameStructure(def, like.def)) {
    throw new TypeError(
      `${op}: ${what} has structure ${describe(def)}, but ${whose} has ${describe(like.def)}`,
    );
  }
  leaves.forEach((leaf, i) => {
    const want = like.avals[i];
    const where = like.avals.length > 1 ? ` (leaf ${i})` : "";
    if (!shapesEqual(leaf.shape, want.shape)) {
      throw new RangeError(
        `${op}: ${what}${where} has shape ${fmt(leaf.shape)}, but ${whose} has shape ${
          fmt(want.shape)
        }`,
      );
    }
    if (leaf.dtype !== want.dtype) {
      throw new TypeError(
        `${op}: ${what}${where} is ${leaf.describe()}, but ${whose} is ${want.dtype}${
          fmt(want.shape)
        }`,
      );
    }
  });
  return leaves;
}

/**
 * A two-element array a user function had to return (`fwd`'s `[output, residuals]`, a
 * `hasAux` function's `[value, aux]`).
 */
export function checkPair(
  op: string,
  who: string,
  form: string,
  value: unknown,
): [unknown, unknown] {
  if (Array.isArray(value) && value.length === 2) return [value[0], value[1]];
  const got = Array.isArray(value) ? `an array of ${value.length}` : describeValue(value);
  throw new TypeError(`${op}: ${who} must return ${form}, got ${got}`);
}

/** `grad`'s differentiated output: a floating-point scalar tensor. */
export function checkScalarOutput(op: string, value: unknown): Tensor {
  if (!(value instanceof Tensor) || value.ndim !== 0) {
    throw new TypeError(
      `${op}: f must return a scalar tensor (shape []), got ${
        value instanceof Tensor ? `shape ${fmt(value.shape)}` : describeValue(value)
      }`,
    );
  }
  if (!isFloat(value.dtype)) {
    throw new TypeError(
      `${op}: f must return a floating-point scalar, got ${value.describe()} (integer and bool outputs have no gradient)`,
    );
  }
  return value;
}
