/**
 * Reductions over sorted, unique axes (dropped from the output), and `argmax`/`argmin` along
 * one axis. The ops layer handles `keepdims` and negative axes.
 *
 * @module
 */

import type { Aval } from "../backend.ts";
import * as lax from "../lax.ts";
import { definePrimitive, type LinearArg } from "../primitive.ts";
import type { Tensor } from "../tensor.ts";

type Axes = { axes: readonly number[] };

const dropAxes = ([x]: readonly Aval[], { axes }: Axes): Aval => ({
  shape: x.shape.filter((_, i) => !axes.includes(i)),
  dtype: x.dtype,
  device: x.device,
});
const shiftAxes = (axes: readonly number[]) => axes.map((a) => a + 1);

definePrimitive<Axes>({
  name: "reduceSum",
  abstractEval: dropAxes,
  jvp: (_x, [t], _out, { axes }) => lax.reduceSum(t!, axes),
  transpose: (ct, [x], { axes }) => [lax.unreduce(ct, axes, (x as LinearArg).aval.shape)],
  vmap: ([x], _d, { axes }) => [lax.reduceSum(x, shiftAxes(axes)), 0],
});

// The tangent of an extremum is the mean tangent over the positions that attain it.
const extremum = (name: "reduceMax" | "reduceMin") =>
  definePrimitive<Axes>({
    name,
    abstractEval: dropAxes,
    jvp: ([x], [t], out, { axes }) => {
      const hit = lax.convert(lax.eq(x, lax.unreduce(out, axes, x.shape)), x.dtype);
      return lax.div(lax.reduceSum(lax.mul(t!, hit), axes), lax.reduceSum(hit, axes));
    },
    vmap: ([x], _d, { axes }) => [lax[name](x, shiftAxes(axes)), 0],
  });
extremum("reduceMax");
extremum("reduceMin");

// The product of all elements but one, at every position of the reduced axes, without
// division: exclusive prefix and suffix products by a log-step scan (shifts are pad + slice).
// Written in multiplications only, it is exact with zeros and stays right at every order,
// where prod/x_i with special cases for zeros loses the cross terms between two zeros.
function productOfOthers(x: Tensor, axes: readonly number[]): Tensor {
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const perm = [...kept, ...axes];
  const moved = lax.transpose(x, perm);
  const n = axes.reduce((p, a) => p * x.shape[a], 1);
  const rows = lax.reshape(moved, [...kept.map((i) => x.shape[i]), n]);
  const last = rows.ndim - 1;
  // Shifts the last axis by s (right for s > 0), filling with ones.
  const shift = (y: Tensor, s: number): Tensor => {
    const widths = y.shape.map((): [number, number] => [0, 0]);
    widths[last] = s > 0 ? [s, 0] : [0, -s];
    const begin = y.shape.map((_, i) => (i === last && s < 0 ? -s : 0));
    return lax.slice(lax.pad(y, widths, 1), begin, y.shape);
  };
  let before = shift(rows, 1);
  let after = shift(rows, -1);
  for (let s = 1; s < n; s *= 2) {
    before = lax.mul(before, shift(before, s));
    after = lax.mul(after, shift(after, -s));
  }
  const others = lax.reshape(lax.mul(before, after), moved.shape);
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => (inverse[p] = i));
  return lax.transpose(others, inverse);
}

definePrimitive<Axes>({
  name: "reduceProd",
  abstractEval: dropAxes,
  jvp: ([x], [t], _out, { axes }) => lax.reduceSum(lax.mul(t!, productOfOthers(x, axes)), axes),
  vmap: ([x], _d, { axes }) => [lax.reduceProd(x, shiftAxes(axes)), 0],
});

for (const name of ["argmax", "argmin"] as const) {
  definePrimitive<{ axis: number }>({
    name,
    abstractEval: ([x], { axis }) => ({
      shape: x.shape.filter((_, i) => i !== axis),
      dtype: "int32",
      device: x.device,
    }),
    jvp: () => null,
    vmap: ([x], _d, { axis }) => [lax[name](x, axis + 1), 0],
  });
}
