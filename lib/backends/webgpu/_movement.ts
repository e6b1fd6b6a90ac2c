/**
 * Movement primitives. `reshape` (of a dense view), `broadcast`, `transpose` and `slice` are
 * O(1) views sharing storage; `pad` fills then copies the input into the interior, and
 * `concat` copies each input into its region of the output.
 *
 * @module
 */

import type { Aval, Params } from "../../core/backend.ts";
import { broadcastStrides, offsetOf } from "../../core/shape.ts";
import { type GpuArray, stridesOf } from "./_array.ts";
import type { GpuContext } from "./_context.ts";
import { COPY, dense, fill, mapInto } from "./_map.ts";
import { constBits } from "./_wgsl.ts";

/** `reshape({ shape })`: a view of a dense input, else a dense copy viewed in the new shape. */
export function reshape(
  ctx: GpuContext,
  [x]: readonly GpuArray[],
  _p: Params,
  out: Aval,
): GpuArray {
  const d = dense(ctx, x);
  const v = d.view(out.shape, stridesOf(out.shape), d.offset);
  d.release();
  return v;
}

/** `broadcast({ shape })`: stride 0 along new and stretched dimensions. */
export function broadcast(
  _ctx: GpuContext,
  [x]: readonly GpuArray[],
  _p: Params,
  out: Aval,
): GpuArray {
  return x.view(out.shape, broadcastStrides(x.shape, x.strides, out.shape), x.offset);
}

/** `transpose({ perm })`: output dimension `i` is input dimension `perm[i]`. */
export function transpose(
  _ctx: GpuContext,
  [x]: readonly GpuArray[],
  params: Params,
  out: Aval,
): GpuArray {
  const perm = params.perm as readonly number[];
  return x.view(out.shape, perm.map((p) => x.strides[p]), x.offset);
}

/** `slice({ begin, size })`: the box at `begin`, as a view. */
export function slice(
  _ctx: GpuContext,
  [x]: readonly GpuArray[],
  params: Params,
  out: Aval,
): GpuArray {
  const begin = params.begin as readonly number[];
  return x.view(out.shape, x.strides, offsetOf(x.offset, x.strides, begin));
}

/** `pad({ widths, value })`: a fill of `value` (bool: `value != 0`), then the interior copy. */
export function pad(
  ctx: GpuContext,
  [x]: readonly GpuArray[],
  params: Params,
  out: Aval,
): GpuArray {
  const widths = params.widths as readonly (readonly [number, number])[];
  const o = fill(ctx, out.shape, out.dtype, constBits(params.value as number, out.dtype));
  const strides = stridesOf(out.shape);
  let offset = 0;
  for (let d = 0; d < widths.length; d++) offset += widths[d][0] * strides[d];
  mapInto(ctx, COPY, [x], { array: o, shape: x.shape, offset, strides });
  return o;
}

/** `concat({ axis })`: each input copied into its slab of the output. */
export function concat(
  ctx: GpuContext,
  xs: readonly GpuArray[],
  params: Params,
  out: Aval,
): GpuArray {
  const axis = params.axis as number;
  const o = ctx.alloc(out.shape, out.dtype);
  const strides = stridesOf(out.shape);
  let at = 0;
  for (const x of xs) {
    mapInto(ctx, COPY, [x], { array: o, shape: x.shape, offset: at * strides[axis], strides });
    at += x.shape[axis];
  }
  return o;
}
