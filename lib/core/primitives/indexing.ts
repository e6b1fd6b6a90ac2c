/**
 * Indexing primitives: `gather` (take along an axis by an integer index tensor of any shape)
 * and its transpose `scatterAdd`. Every indexing op of the API (take, takeAlongAxis, gather
 * of rows and columns, one-hot lookups) lowers to these two.
 *
 * @module
 */

import type { Aval } from "../backend.ts";
import * as lax from "../lax.ts";
import { definePrimitive, type LinearArg } from "../primitive.ts";
import type { Tensor } from "../tensor.ts";
import { batchAll } from "./_rules.ts";

type GatherParams = { axis: number };
type ScatterParams = { axis: number; size: number };

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

// Indices as the kernels read them: a negative index counts from the end. What is still out
// of range, `gather` clamps and `scatterAdd` drops, so the rules below normalize indices before
// they give them a new meaning (a transposed kernel, or offsets into a merged axis).
function wrapped(idx: Tensor, n: number): Tensor {
  const zero = lax.zerosLike(idx);
  return lax.select(lax.lt(idx, zero), lax.add(idx, lax.fullLike(idx, n)), idx);
}

// The rows `gather` actually reads.
function clamped(idx: Tensor, n: number): Tensor {
  return lax.max(lax.min(wrapped(idx, n), lax.fullLike(idx, n - 1)), lax.zerosLike(idx));
}

// Where `scatterAdd` actually writes (bool).
function inRange(idx: Tensor, n: number): Tensor {
  const w = wrapped(idx, n);
  const no = lax.full(idx.shape, 0, "bool", idx.device);
  return lax.select(lax.ge(w, lax.zerosLike(w)), lax.lt(w, lax.fullLike(w, n)), no);
}

// Index `b` of a batch of `size` addresses the b-th block of `n` rows once the batch and the
// indexed axis are merged into one axis of extent size·n (indices already in [0, n)).
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
  // Each read row gets the cotangents of all the places it was copied to.
  transpose: (ct, [x, idx], { axis }) => {
    const n = (x as LinearArg).aval.shape[axis];
    return [lax.scatterAdd(ct, clamped(idx as Tensor, n), axis, n), null];
  },
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
    const out = lax.gather(merged, offsetIndices(clamped(idx, n), n), 0);
    // out is [B, I..., pre..., post...]; bring pre before I.
    const nI = idx.ndim - 1;
    const perm = [
      0,
      ...range(1 + nI, 1 + nI + axis),
      ...range(1, 1 + nI),
      ...range(1 + nI + axis, out.ndim),
    ];
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
  // Dropped (out-of-range) updates had no effect, so their cotangent is zero.
  transpose: (ct, [, idx], { axis, size }) => {
    const i = idx as Tensor;
    const g = lax.gather(ct, i, axis);
    const mask = lax.reshape(
      inRange(i, size),
      g.shape.map((d, k) => (k >= axis && k < axis + i.ndim ? d : 1)),
    );
    return [lax.select(lax.broadcast(mask, g.shape), g, lax.zerosLike(g)), null];
  },
  vmap: (args, dims, { axis, size }, batch) => {
    if (dims[1] === null) return [lax.scatterAdd(args[0], args[1], axis + 1, size), 0];
    const [upd, idx] = batchAll(args, dims, batch);
    const nI = idx.ndim - 1;
    // upd is [B, pre..., I..., post...]; bring I next to the batch, merge batch and target.
    const perm = [
      0,
      ...range(1 + axis, 1 + axis + nI),
      ...range(1, 1 + axis),
      ...range(1 + axis + nI, upd.ndim),
    ];
    const moved = lax.transpose(upd, perm);
    // Dropped indices must stay dropped: send them past the end of the merged axis.
    const dropped = lax.fullLike(idx, batch * size);
    const target = lax.select(inRange(idx, size), offsetIndices(wrapped(idx, size), size), dropped);
    const flat = lax.scatterAdd(moved, target, 0, batch * size);
    const rest = flat.shape.slice(1);
    const split = lax.reshape(flat, [batch, size, ...rest]);
    return [lax.moveAxis(split, 1, 1 + axis), 0];
  },
});
