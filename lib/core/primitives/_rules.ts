/** Rule helpers shared by the primitive families. */

import type { Aval } from "../backend.ts";
import * as lax from "../lax.ts";
import type { BatchDim } from "../primitive.ts";
import type { Tensor } from "../tensor.ts";

/** Gives every argument the batch at axis 0, broadcasting the unbatched ones. */
export function batchAll(args: Tensor[], dims: BatchDim[], size: number): Tensor[] {
  return args.map((x, i) => (dims[i] === 0 ? x : lax.broadcast(x, [size, ...x.shape])));
}

/** The aval of the first argument: the output type of shape-preserving primitives. */
export function sameAsFirst(args: readonly Aval[]): Aval {
  return args[0];
}

/** The tangent, or explicit zeros of the primal's type where it is a symbolic zero. */
export function instantiate(t: Tensor | null, primal: Tensor): Tensor {
  return t ?? lax.zerosLike(primal);
}
