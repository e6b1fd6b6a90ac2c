/**
 * `customVjp`: functions whose reverse-mode derivative is given by the user, for numerical
 * stability or speed.
 *
 * @module
 */

import { Tensor } from "../core/tensor.ts";
import { bindCustomVjp } from "../core/trace.ts";
import { asOwnedByCaller } from "../core/transient.ts";
import { flatten, type TreeDef, unflatten } from "../tree.ts";
import { checkFunction, describeValue, tensorLeaves } from "./_args.ts";
import { checkPair, leavesLike, likeOf } from "./_returns.ts";

/**
 * Defines `f` with a custom VJP: `fwd(...args)` returns `[out, residuals]`, and
 * `bwd(residuals, cotangent)` returns one cotangent per argument (`null` for none).
 * Forward mode (`jvp`, `jacfwd`) of such a function is an error, as in JAX.
 *
 * @example
 * ```ts
 * import { customVjp, grad, type Tensor, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * // The identity, with its gradient clipped to [-1, 1] on the way back.
 * const clipGrad = customVjp(
 *   (x: Tensor) => x,
 *   (x: Tensor) => [x, null],
 *   (_res, ct: Tensor) => [ct.clip(-1, 1)],
 * );
 * assert.equal(grad((x: Tensor) => clipGrad(x).mul(5))(tensor(2)).item(), 1);
 * ```
 */
export function customVjp<A extends unknown[], Out, R>(
  f: (...args: A) => Out,
  fwd: (...args: A) => [Out, R],
  bwd: (residuals: R, cotangent: Out) => unknown[],
): (...args: A) => Out {
  checkFunction("customVjp", f);
  checkFunction("customVjp", fwd, "fwd");
  checkFunction("customVjp", bwd, "bwd");
  return (...args: A): Out => {
    const argParts = args.map((a, i) => tensorLeaves("customVjp", `argument ${i}`, a, false));
    const argLikes = argParts.map(([ls, def]) => likeOf(ls, def));
    const [leaves] = flatten<Tensor>(argParts.map(([ls]) => ls));
    const rebuild = (xs: Tensor[]) => {
      let pos = 0;
      return argParts.map(([ls, def]) => unflatten(def, xs.slice(pos, pos += ls.length))) as A;
    };
    let outDef: TreeDef | null = null;
    // Residuals travel as their tensor leaves; the rest of the pytree is kept here.
    let resDef: TreeDef | null = null;
    let resLeaves: unknown[] = [];
    const outLeaves = (out: Out) => {
      const [ls, def] = tensorLeaves("customVjp", "the output", out, false);
      outDef = def;
      return ls;
    };
    // The user's functions may keep what they are given and what they make: none of it is
    // the machinery's to free.
    const outs = bindCustomVjp({
      f: (xs) => outLeaves(asOwnedByCaller(() => f(...rebuild(xs)), xs)),
      fwd: (xs) => {
        const result = asOwnedByCaller(() => fwd(...rebuild(xs)), xs);
        const [out, residuals] = checkPair("customVjp", "fwd", "[output, residuals]", result);
        [resLeaves, resDef] = flatten(residuals);
        return [outLeaves(out as Out), resLeaves.filter((l): l is Tensor => l instanceof Tensor)];
      },
      bwd: (resTensors, cts) => {
        let pos = 0;
        const res = resLeaves.map((l) => (l instanceof Tensor ? resTensors[pos++] : l));
        const argCts = asOwnedByCaller(
          () => bwd(unflatten<R>(resDef!, res), unflatten<Out>(outDef!, cts)),
          [...resTensors, ...cts],
        );
        if (!Array.isArray(argCts) || argCts.length !== args.length) {
          const got = Array.isArray(argCts)
            ? `an array of ${argCts.length}`
            : describeValue(argCts);
          throw new TypeError(
            `customVjp: bwd must return an array with one cotangent per argument (${args.length}), got ${got}`,
          );
        }
        return argCts.flatMap((ct, i) =>
          ct === null || ct === undefined ? argParts[i][0].map(() => null) : leavesLike(
            "customVjp",
            `the cotangent bwd returned for argument ${i}`,
            `argument ${i}`,
            ct,
            argLikes[i],
          )
        );
      },
    }, leaves);
    return unflatten<Out>(outDef!, outs);
  };
}
