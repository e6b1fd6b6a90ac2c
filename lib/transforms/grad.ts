/**
 * Reverse-mode differentiation: `vjp`, `grad` and `valueAndGrad`, over pytrees.
 *
 * @module
 */

import { linearize, programConstants, transposeLinear } from "../core/ir.ts";
import * as lax from "../core/lax.ts";
import { Tensor } from "../core/tensor.ts";
import { currentLevel } from "../core/trace.ts";
import { freeingTransients, freeTransientsExcept } from "../core/transient.ts";
import { flatten, type TreeDef, unflatten } from "../tree.ts";
import { checkFunction, checkOptions, resolveArgnums, splitArgs, tensorLeaves } from "./_args.ts";
import { checkPair, checkScalarOutput, leavesLike, type Like, likeOf } from "./_returns.ts";

/** Options of `grad` and `valueAndGrad`. */
export interface GradOptions<
  N extends number | readonly number[] = number | readonly number[],
  Aux extends boolean = boolean,
> {
  /**
   * Which positional arguments to differentiate (default 0; negative counts from the end); an
   * array gives an array, and may name an argument once only.
   */
  argnums?: N;
  /** `f` returns `[value, aux]`; aux is passed through undifferentiated. */
  hasAux?: Aux;
}

/** Any function (the type transformations take and return). */
// deno-lint-ignore no-explicit-any
export type Fn = (...args: any[]) => any;

/** The gradient's type: that of argument `N`, or a tuple of them for an array of argnums. */
export type Grads<F extends Fn, N> = N extends number ? Parameters<F>[N]
  : { -readonly [K in keyof N]: Parameters<F>[N[K] & number] };

/** The auxiliary output of a `hasAux` function. */
export type AuxOf<F extends Fn> = ReturnType<F> extends readonly [unknown, infer A] ? A : never;

/**
 * Evaluates `f` and returns its output with a function that maps an output cotangent (of the
 * output's structure, shapes and dtypes) to one cotangent per primal (each shaped like its
 * primal).
 *
 * @example
 * ```ts
 * import { tensor, vjp } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const [y, back] = vjp((a, b) => a.mul(b), tensor(3), tensor(4));
 * const [da, db] = back(tensor(1));
 * assert.deepEqual([y.item(), da.item(), db.item()], [12, 4, 3]);
 * ```
 */
// deno-lint-ignore no-explicit-any
export function vjp<Out = any>(
  // deno-lint-ignore no-explicit-any
  f: (...primals: any[]) => Out,
  ...primals: unknown[]
  // deno-lint-ignore no-explicit-any
): [Out, (cotangent: Out) => any[]] {
  checkFunction("vjp", f);
  const argnums = primals.map((_, i) => i);
  const { leaves, unflattenEach, rebuild } = splitArgs("vjp", primals, argnums);
  let outDef: TreeDef | null = null;
  const [outs, program] = linearize((xs) => {
    const [ls, def] = tensorLeaves("vjp", "the output of f", f(...rebuild(xs)), false);
    outDef = def;
    return ls;
  }, leaves);
  const outLike: Like = likeOf(outs, outDef!);
  const back = (cotangent: Out) => {
    const cts = leavesLike("vjp", "the cotangent", "the output of f", cotangent, outLike);
    const grads = transposeLinear(program, cts);
    return unflattenEach(grads.map((g, i) => g ?? lax.zerosLike(leaves[i])));
  };
  return [unflatten<Out>(outDef!, outs), back];
}

/**
 * `f`'s value and its gradient with respect to the arguments in `argnums`; `f` must return a
 * scalar tensor (or `[scalar, aux]` with `hasAux`).
 *
 * @example
 * ```ts
 * import { tensor, valueAndGrad } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const [value, g] = valueAndGrad((x) => x.square().sum())(tensor([1, 2]));
 * assert.equal(value.item(), 5);
 * assert.deepEqual(await g.toArray(), [2, 4]);
 * ```
 */
export function valueAndGrad<
  F extends Fn,
  const N extends number | readonly number[] = 0,
  Aux extends boolean = false,
>(
  f: F,
  opts: GradOptions<N, Aux> = {},
): (
  ...args: Parameters<F>
) => [NoInfer<Aux> extends true ? [Tensor, AuxOf<F>] : Tensor, Grads<F, NoInfer<N>>] {
  // deno-lint-ignore no-explicit-any
  return differentiate("valueAndGrad", f, opts as GradOptions) as any;
}

// valueAndGrad, with errors that name the function the user called.
function differentiate(gradName: string, f: Fn, opts: GradOptions): Fn {
  checkFunction(gradName, f);
  const { argnums = 0, hasAux = false } = checkOptions(gradName, opts) ?? {};
  // deno-lint-ignore no-explicit-any
  const gradient = (...args: any[]) => {
    const nums = resolveArgnums(gradName, argnums, args.length);
    const { leaves, unflattenEach, rebuild } = splitArgs(gradName, args, nums);
    let aux: unknown = undefined;
    let auxDef: TreeDef | null = null;
    let auxOther: unknown[] = [];
    const [outs, program] = linearize((xs) => {
      const result = f(...rebuild(xs));
      let value = result;
      if (hasAux) [value, aux] = checkPair(gradName, "with hasAux, f", "[value, aux]", result);
      checkScalarOutput(gradName, value);
      // Tensor leaves of aux leave the trace as plain values, like the output.
      const [auxLeaves, def] = flatten(aux);
      auxDef = def;
      auxOther = auxLeaves;
      return [value, ...auxLeaves.filter((l): l is Tensor => l instanceof Tensor)];
    }, leaves);
    const [value, ...auxTensors] = outs;
    // At the top level, forward values that neither the backward pass nor the caller needs go
    // now. (Nested, the values belong to the enclosing transformation.)
    if (currentLevel() === 0) {
      freeTransientsExcept(new Set([...outs, ...programConstants(program)]));
    }
    const cts = transposeLinear(program, [lax.fullLike(value, 1), ...auxTensors.map(() => null)]);
    const grads = unflattenEach(cts.map((c, i) => c ?? lax.zerosLike(leaves[i])));
    const g = typeof argnums === "number" ? grads[0] : grads;
    if (!hasAux) return [value, g];
    let pos = 0;
    const auxOut = unflatten(
      auxDef!,
      auxOther.map((l) => (l instanceof Tensor ? auxTensors[pos++] : l)),
    );
    return [[value, auxOut], g];
  };
  // At the top level (not inside another transformation), the values made along the way are
  // freed as soon as the gradient is known; only the results survive.
  // deno-lint-ignore no-explicit-any
  return (...args: any[]) =>
    currentLevel() > 0
      ? gradient(...args)
      : freeingTransients(() => gradient(...args), (out) => flatten(out)[0]);
}

/**
 * The gradient of a scalar-valued `f` with respect to the arguments in `argnums`, shaped like
 * those arguments.
 *
 * @example
 * ```ts
 * import { grad, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const df = grad((x) => x.sin());
 * assert.equal(df(tensor(0)).item(), 1);
 * assert.equal(grad(df)(tensor(Math.PI / 2)).item(), -1);
 * ```
 */
export function grad<
  F extends Fn,
  const N extends number | readonly number[] = 0,
  Aux extends boolean = false,
>(
  f: F,
  opts: GradOptions<N, Aux> = {},
): (
  ...args: Parameters<F>
) => NoInfer<Aux> extends true ? [Grads<F, NoInfer<N>>, AuxOf<F>] : Grads<F, NoInfer<N>> {
  const vg = differentiate("grad", f, opts as GradOptions);
  // deno-lint-ignore no-explicit-any
  return ((...args: Parameters<F>): any => {
    const [value, g] = vg(...args);
    return opts.hasAux ? [g, (value as unknown as [Tensor, unknown])[1]] : g;
  });
}
