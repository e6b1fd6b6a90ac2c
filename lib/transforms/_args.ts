/** Shared argument handling of the transformations: argnums and pytrees of tensors. */

import { isFloat } from "../core/dtype.ts";
import { Tensor } from "../core/tensor.ts";
import { flatten, type TreeDef, unflatten } from "../tree.ts";

/** Resolves `argnums` against the number of arguments. */
export function resolveArgnums(
  op: string,
  argnums: number | readonly number[],
  nargs: number,
): number[] {
  const list = typeof argnums === "number" ? [argnums] : argnums;
  if (!Array.isArray(list) || list.some((a) => typeof a !== "number")) {
    throw new TypeError(
      `${op}: argnums must be an integer or an array of integers, got ${describeValue(argnums)}`,
    );
  }
  for (const a of list) {
    if (!Number.isInteger(a) || a < -nargs || a >= nargs) {
      throw new RangeError(
        `${op}: argnums ${a} is out of range for ${nargs} argument${nargs === 1 ? "" : "s"}`,
      );
    }
  }
  const nums = list.map((a) => (a < 0 ? a + nargs : a));
  // One argument differentiated twice would get its gradient split between two copies.
  const twice = nums.find((a, i) => nums.indexOf(a) !== i);
  if (twice !== undefined) {
    throw new RangeError(`${op}: argnums [${list.join(",")}] repeats argument ${twice}`);
  }
  return nums;
}

/** Rejects a transformation's function argument that is not a function. */
export function checkFunction<F>(op: string, f: F, what = "f"): F {
  if (typeof f !== "function") {
    throw new TypeError(`${op}: ${what} must be a function, got ${describeValue(f)}`);
  }
  return f;
}

/** Rejects options that are not an object (or undefined). */
export function checkOptions<O>(op: string, opts: O): O {
  if (opts !== undefined && (typeof opts !== "object" || opts === null || Array.isArray(opts))) {
    throw new TypeError(`${op}: options must be an object, got ${describeValue(opts)}`);
  }
  return opts;
}

/** The tensor leaves of a pytree, checked to be tensors (and floating point, if `diff`). */
export function tensorLeaves(
  op: string,
  what: string,
  t: unknown,
  diff: boolean,
): [Tensor[], TreeDef] {
  const [leaves, def] = flatten(t);
  leaves.forEach((leaf, i) => {
    if (!(leaf instanceof Tensor)) {
      throw new TypeError(
        `${op}: ${what} must be a pytree of tensors, but leaf ${i} is ${describeValue(leaf)}`,
      );
    }
    if (diff && !isFloat(leaf.dtype)) {
      const article = /^[aeiou]/.test(leaf.dtype) ? "an" : "a";
      throw new TypeError(
        `${op}: ${what} has ${article} ${leaf.describe()} leaf; only float32/float64 inputs can be differentiated`,
      );
    }
  });
  return [leaves as Tensor[], def];
}

/** Flattens the differentiated arguments; `rebuild` puts new leaves in their place. */
export function splitArgs(op: string, args: unknown[], argnums: number[]): {
  leaves: Tensor[];
  rebuild: (leaves: Tensor[]) => unknown[];
  unflattenEach: (leaves: Tensor[]) => unknown[];
} {
  const parts = argnums.map((i) => tensorLeaves(op, `argument ${i}`, args[i], true));
  const counts = parts.map(([ls]) => ls.length);
  const split = (leaves: Tensor[]) => {
    let pos = 0;
    return parts.map(([, def], k) => unflatten(def, leaves.slice(pos, pos += counts[k])));
  };
  return {
    leaves: parts.flatMap(([ls]) => ls),
    unflattenEach: split,
    rebuild: (leaves) => {
      const out = [...args];
      split(leaves).forEach((v, k) => (out[argnums[k]] = v));
      return out;
    },
  };
}

/** A short description of a value for error messages. */
export function describeValue(x: unknown): string {
  if (x instanceof Tensor) return `a tensor ${x.describe()}`;
  if (Array.isArray(x)) return "an array";
  if (x === null || x === undefined) return String(x);
  if (typeof x === "function") return "a function";
  return typeof x === "object" ? "an object" : `${typeof x} ${String(x)}`;
}
