/**
 * Jacobians and Hessians of tensor functions, by vectorized forward or reverse mode.
 *
 * @module
 */

import * as lax from "../core/lax.ts";
import { Tensor } from "../core/tensor.ts";
import { jvp } from "./jvp.ts";
import { describeValue, resolveArgnums } from "./_args.ts";
import { vjp } from "./grad.ts";
import { vmap } from "./vmap.ts";

/** Options of `jacfwd`, `jacrev` and `hessian`. */
export interface JacobianOptions {
  /** Which positional arguments (tensors) to differentiate (default 0). */
  argnums?: number | number[];
}

// Rows of an identity matrix shaped as `like`: one basis direction per element.
function basis(like: Tensor): Tensor {
  const n = like.size;
  const eye = lax.convert(
    lax.eq(lax.iota([n, n], 0, "int32", like.device), lax.iota([n, n], 1, "int32", like.device)),
    like.dtype,
  );
  return lax.reshape(eye, [n, ...like.shape]);
}

function checkTensor(op: string, what: string, x: unknown): Tensor {
  if (!(x instanceof Tensor)) {
    throw new TypeError(`${op}: ${what} must be a tensor, got ${describeValue(x)}`);
  }
  return x;
}

/** A function from tensors to a tensor. */
export type TensorFn = (...args: Tensor[]) => Tensor;

/**
 * The Jacobian by forward mode (one JVP per input element, vectorized): shape
 * `[...out.shape, ...x.shape]`.
 *
 * @example
 * ```ts
 * import { jacfwd, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const J = jacfwd((x) => x.mul(x))(tensor([1, 2]));
 * assert.deepEqual(await J.toArray(), [[2, 0], [0, 4]]);
 * ```
 */
// deno-lint-ignore no-explicit-any
export function jacfwd(f: TensorFn, opts: JacobianOptions = {}): (...args: Tensor[]) => any {
  const { argnums = 0 } = opts;
  return (...args) => {
    const nums = resolveArgnums("jacfwd", argnums, args.length);
    const jacs = nums.map((k) => {
      const x = checkTensor("jacfwd", `argument ${k}`, args[k]);
      const g = (xk: Tensor) => f(...args.map((a, i) => (i === k ? xk : a)));
      const column = (t: Tensor) => jvp(g, [x], [t])[1] as Tensor;
      const cols = vmap(column)(basis(x)); // [n, ...out]
      const outRank = cols.ndim - 1;
      const moved = lax.moveAxis(cols, 0, outRank);
      return lax.reshape(moved, [...cols.shape.slice(1), ...x.shape]);
    });
    return typeof argnums === "number" ? jacs[0] : jacs;
  };
}

/**
 * The Jacobian by reverse mode (one VJP per output element, vectorized): shape
 * `[...out.shape, ...x.shape]`.
 *
 * @example
 * ```ts
 * import { jacrev, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const J = jacrev((x) => x.sum().mul(x))(tensor([1, 2]));
 * assert.deepEqual(await J.toArray(), [[4, 1], [2, 5]]);
 * ```
 */
// deno-lint-ignore no-explicit-any
export function jacrev(f: TensorFn, opts: JacobianOptions = {}): (...args: Tensor[]) => any {
  const { argnums = 0 } = opts;
  return (...args) => {
    const nums = resolveArgnums("jacrev", argnums, args.length);
    const xs = nums.map((k) => checkTensor("jacrev", `argument ${k}`, args[k]));
    const g = (...ys: Tensor[]) =>
      f(...args.map((a, i) => (nums.includes(i) ? ys[nums.indexOf(i)] : a)));
    const [out, back] = vjp(g, ...xs);
    checkTensor("jacrev", "the output of f", out);
    const rows = vmap((ct: Tensor) => back(ct) as Tensor[])(basis(out)) as Tensor[];
    const jacs = rows.map((r, j) => lax.reshape(r, [...out.shape, ...xs[j].shape]));
    return typeof argnums === "number" ? jacs[0] : jacs;
  };
}

/**
 * The Hessian of a scalar function, `jacfwd(jacrev(f))`: shape `[...x.shape, ...x.shape]`.
 *
 * @example
 * ```ts
 * import { hessian, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const H = hessian((x) => x.pow(3).sum())(tensor([1, 2]));
 * assert.deepEqual(await H.toArray(), [[6, 0], [0, 12]]);
 * ```
 */
// deno-lint-ignore no-explicit-any
export function hessian(f: TensorFn, opts: JacobianOptions = {}): (...args: Tensor[]) => any {
  return jacfwd(jacrev(f, opts), opts);
}
