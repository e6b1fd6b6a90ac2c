/**
 * `matmul` over identical batch dims: `[...b, m, k] @ [...b, k, n]`. The ops layer adds
 * NumPy's 1-d promotion and batch broadcasting (as views).
 *
 * @module
 */

import * as lax from "../lax.ts";
import { definePrimitive, LinearArg } from "../primitive.ts";
import type { Tensor } from "../tensor.ts";
import { batchAll } from "./_rules.ts";

definePrimitive({
  name: "matmul",
  abstractEval: ([a, b]) => ({
    shape: [...a.shape.slice(0, -1), b.shape[b.shape.length - 1]],
    dtype: a.dtype,
    device: a.device,
  }),
  jvp: ([a, b], [ta, tb]) => lax.addMaybe(ta && lax.matmul(ta, b), tb && lax.matmul(a, tb)),
  transpose: (ct, [a, b]) => [
    a instanceof LinearArg ? lax.matmul(ct, lax.swapLast(b as Tensor)) : null,
    b instanceof LinearArg ? lax.matmul(lax.swapLast(a as Tensor), ct) : null,
  ],
  vmap: (args, dims, _p, size) => {
    const [a, b] = args;
    // A batch on the left operand alone folds into its rows: one larger product.
    if (dims[1] === null && b.ndim === 2) {
      const rows = lax.reshape(a, [
        a.shape.slice(0, -1).reduce((x, y) => x * y, 1),
        a.shape[a.ndim - 1],
      ]);
      const out = lax.matmul(rows, b);
      return [lax.reshape(out, [...a.shape.slice(0, -1), b.shape[1]]), 0];
    }
    const [ba, bb] = batchAll(args, dims, size);
    return [lax.matmul(ba, bb), 0];
  },
});
