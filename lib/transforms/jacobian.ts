/**
 * Jacobians and Hessians of tensor functions, by vectorized forward or reverse mode.
 *
 * @module
 */

import * as lax from "../core/lax.ts";
import { Tensor } from "../core/tensor.ts";
import { jvp } from "./jvp.ts";
import { type TreeDef, unflatten } from "../tree.ts";
import { checkFunction, describeValue, resolveArgnums, tensorLeaves } from "./_args.ts";
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
  return tensorLeaves(op, what, x, true)[0][0];
}

// The Jacobians in the structure of f's output: each output leaf becomes its Jacobian (one
// argnum) or the array of its Jacobians, one per argnum (JAX's nesting).
// deno-lint-ignore no-explicit-any
function assemble(outDef: TreeDef, jacs: Tensor[][], single: boolean): any {
  return unflatten(outDef, jacs[0].map((jac, j) => (single ? jac : jacs.map((jk) => jk[j]))));
}

/** A function from tensors to a tensor. */
export type TensorFn = (...args: Tensor[]) => Tensor;

/**
 * The Jacobian by forward mode (one JVP per input element, vectorized): shape
 * `[...out.shape, ...x.shape]`. A pytree output gives the pytree of its leaves' Jacobians; an
 * array of argnums gives, per output leaf, an array of Jacobians (as JAX nests them).
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
  checkFunction("jacfwd", f);
  const { argnums = 0 } = opts;
  return (...args) => {
    const nums = resolveArgnums("jacfwd", argnums, args.length);
    let outDef: TreeDef | null = null;
    // jacs[k][j]: the Jacobian of output leaf j with respect to argument nums[k].
    const jacs = nums.map((k) => {
      const x = checkTensor("jacfwd", `argument ${k}`, args[k]);
      const g = (xk: Tensor) => {
        const out = f(...args.map((a, i) => (i === k ? xk : a)));
        const [leaves, def] = tensorLeaves("jacfwd", "the output of f", out, false);
        outDef = def;
        return leaves;
      };
      const cols = vmap((t: Tensor) => jvp(g, [x], [t])[1])(basis(x)) as Tensor[]; // [n, ...out]
      return cols.map((c) =>
        lax.reshape(lax.moveAxis(c, 0, c.ndim - 1), [...c.shape.slice(1), ...x.shape])
      );
    });
    return assemble(outDef!, jacs, typeof argnums === "number");
  };
}

/**
 * The Jacobian by reverse mode (one VJP per output element, vectorized): shape
 * `[...out.shape, ...x.shape]`. Pytree outputs and arrays of argnums nest as in `jacfwd`.
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
  checkFunction("jacrev", f);
  const { argnums = 0 } = opts;
  return (...args) => {
    const nums = resolveArgnums("jacrev", argnums, args.length);
    const xs = nums.map((k) => checkTensor("jacrev", `argument ${k}`, args[k]));
    const g = (...ys: Tensor[]) =>
      f(...args.map((a, i) => (nums.includes(i) ? ys[nums.indexOf(i)] : a)));
    const [out, back] = vjp(g, ...xs);
    const [outs, outDef] = tensorLeaves("jacrev", "the output of f", out, false);
    const jacs: Tensor[][] = nums.map(() => []);
    // One vectorized VJP per output leaf, the other leaves' cotangents zero.
    outs.forEach((o, j) => {
      const cotangent = (c: Tensor) =>
        unflatten<Tensor>(outDef, outs.map((p, i) => (i === j ? c : lax.zerosLike(p))));
      const rows = vmap((c: Tensor) => back(cotangent(c)) as Tensor[])(basis(o)) as Tensor[];
      rows.forEach((r, k) => jacs[k].push(lax.reshape(r, [...o.shape, ...xs[k].shape])));
    });
    return assemble(outDef, jacs, typeof argnums === "number");
  };
}

/**
 * The Hessian of a scalar function, `jacfwd(jacrev(f))`: shape `[...x.shape, ...x.shape]`;
 * with an array of argnums, the blocks `H[i][j]` (with respect to arguments i, then j).
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
  checkFunction("hessian", f);
  const h = jacfwd(jacrev(f, opts), opts);
  return (...args) => {
    resolveArgnums("hessian", opts.argnums ?? 0, args.length);
    return h(...args);
  };
}
