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

definePrimitive<Axes>({
  name: "reduceProd",
  abstractEval: dropAxes,
  // d prod / d x_i is the product of the others: prod/x_i without zeros; with exactly one
  // zero, only that position sees the product of the rest; with two or more, all are zero.
  jvp: ([x], [t], out, { axes }) => {
    const zero = lax.zerosLike(x);
    const one = lax.fullLike(x, 1);
    const isZero = lax.eq(x, zero);
    const zeros = lax.reduceSum(lax.convert(isZero, x.dtype), axes);
    const others = lax.reduceProd(lax.select(isZero, one, x), axes);
    const back = (y: Tensor) => lax.unreduce(y, axes, x.shape);
    const noZero = lax.div(back(out), lax.select(isZero, one, x));
    const oneZero = lax.select(isZero, back(others), zero);
    const nZeros = back(zeros);
    const d = lax.select(
      lax.eq(nZeros, zero),
      noZero,
      lax.select(lax.eq(nZeros, one), oneZero, zero),
    );
    return lax.reduceSum(lax.mul(t!, d), axes);
  },
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
