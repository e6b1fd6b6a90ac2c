/**
 * Indexing primitives: `gather` (take along an axis by an integer index tensor of any shape)
 * and its transpose `scatterAdd`. Every indexing op of the API (take, takeAlongAxis, gather
 * of rows and columns, one-hot lookups) lowers to these two.
 *
 * @module
 */

import type { Aval } from "../backend.ts";
import * as lax from "../lax.ts";
import { definePrimitive, LinearArg } from "../primitive.ts";
import type { Tensor } from "../tensor.ts";
import { batchAll } from "./_rules.ts";

type GatherParams = { axis: number };
type ScatterParams = { axis: number; size: number };

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

// Index `b` of a batch of `size` addresses the b-th block of `n` rows once the batch and the
// indexed axis are merged into one axis of extent size·n.
function offsetIndices(idx: Tensor, n: number): Tensor {
  const batch = lax.iota(idx.shape, 0, "int32", idx.device);
  return lax.add(idx, lax.mul(batch, lax.fullLike(batch, n)));
}

definePrimitive<GatherParams>({
  name: "gather",
  abstractEval: ([x, idx], { axis }): Aval => ({
    shape: [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)],
    dtype: x.dtype,
    device: x.device,
  }),
  jvp: ([, idx], [t], _out, { axis }) => lax.gather(t!, idx, axis),
  transpose: (ct, [x, idx], { axis }) => [
    lax.scatterAdd(ct, idx as Tensor, axis, (x as LinearArg).aval.shape[axis]),
    null,
  ],
  vmap: (args, dims, { axis }, size) => {
    if (dims[1] === null) return [lax.gather(args[0], args[1], axis + 1), 0];
    const [x, idx] = batchAll(args, dims, size);
    if (dims[0] === null) {
      // Unbatched data: the batch of the indices lands at position `axis` of the output.
      return [lax.moveAxis(lax.gather(args[0], idx, axis), axis, 0), 0];
    }
    const n = x.shape[axis + 1];
    const rest = x.shape.filter((_, i) => i !== 0 && i !== axis + 1);
    const merged = lax.reshape(lax.moveAxis(x, axis + 1, 1), [size * n, ...rest]);
    const out = lax.gather(merged, offsetIndices(idx, n), 0);
    // out is [B, I..., pre..., post...]; bring pre before I.
    const nI = idx.ndim - 1;
    const perm = [0, ...range(1 + nI, 1 + nI + axis), ...range(1, 1 + nI), ...range(1 + nI + axis, out.ndim)];
    return [lax.transpose(out, perm), 0];
  },
});

definePrimitive<ScatterParams>({
  name: "scatterAdd",
  abstractEval: ([upd, idx], { axis, size }): Aval => ({
    shape: [...upd.shape.slice(0, axis), size, ...upd.shape.slice(axis + idx.shape.length)],
    dtype: upd.dtype,
    device: upd.device,
  }),
  jvp: ([, idx], [t], _out, { axis, size }) => lax.scatterAdd(t!, idx, axis, size),
  transpose: (ct, [, idx], { axis }) => [lax.gather(ct, idx as Tensor, axis), null],
  vmap: (args, dims, { axis, size }, batch) => {
    if (dims[1] === null) return [lax.scatterAdd(args[0], args[1], axis + 1, size), 0];
    const [upd, idx] = batchAll(args, dims, batch);
    const nI = idx.ndim - 1;
    // upd is [B, pre..., I..., post...]; bring I next to the batch, merge batch and target.
    const perm = [0, ...range(1 + axis, 1 + axis + nI), ...range(1, 1 + axis), ...range(1 + axis + nI, upd.ndim)];
    const moved = lax.transpose(upd, perm);
    const flat = lax.scatterAdd(moved, offsetIndices(idx, size), 0, batch * size);
    const rest = flat.shape.slice(1);
    const split = lax.reshape(flat, [batch, size, ...rest]);
    return [lax.moveAxis(split, 1, 1 + axis), 0];
  },
});
