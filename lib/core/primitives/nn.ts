/**
 * `softmax` and `logSoftmax` along one axis: primitives (not compositions) so that each
 * backend can give them one numerically stable kernel.
 *
 * @module
 */

import * as lax from "../lax.ts";
import { definePrimitive } from "../primitive.ts";
import type { Tensor } from "../tensor.ts";
import { sameAsFirst } from "./_rules.ts";

type AxisParams = { axis: number };

// Σ_axis(w · t), broadcast back along the axis.
function weightedSum(w: Tensor, t: Tensor, axis: number): Tensor {
  return lax.unreduce(lax.reduceSum(lax.mul(w, t), [axis]), [axis], t.shape);
}

definePrimitive<AxisParams>({
  name: "softmax",
  abstractEval: sameAsFirst,
  jvp: (_x, [t], out, { axis }) => lax.mul(out, lax.sub(t!, weightedSum(out, t!, axis))),
  vmap: ([x], _d, { axis }) => [lax.softmax(x, axis + 1), 0],
});

definePrimitive<AxisParams>({
  name: "logSoftmax",
  abstractEval: sameAsFirst,
  jvp: (_x, [t], out, { axis }) => lax.sub(t!, weightedSum(lax.exp(out), t!, axis)),
  vmap: ([x], _d, { axis }) => [lax.logSoftmax(x, axis + 1), 0],
});
