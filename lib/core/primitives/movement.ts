/**
 * Movement primitives: reshape, broadcast, transpose, slice, pad and concat. All are linear,
 * so their tangents are themselves and their transposes move cotangents back into place.
 * Backends may implement most as views over shared storage.
 *
 * @module
 */

import type { Aval } from "../backend.ts";
import * as lax from "../lax.ts";
import { BlockCotangent, definePrimitive, LinearArg } from "../primitive.ts";
import type { Shape } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { batchAll, instantiate } from "./_rules.ts";

const withShape = (x: Aval, shape: Shape): Aval => ({ shape, dtype: x.dtype, device: x.device });
const inShape = (x: Tensor | LinearArg): Shape => x instanceof LinearArg ? x.aval.shape : x.shape;

definePrimitive<{ shape: Shape }>({
  name: "reshape",
  abstractEval: ([x], { shape }) => withShape(x, shape),
  jvp: (_x, [t], _out, { shape }) => lax.reshape(t!, shape),
  transpose: (ct, [x]) => [lax.reshape(ct, inShape(x))],
  vmap: ([x], _d, { shape }) => [lax.reshape(x, [x.shape[0], ...shape]), 0],
});

definePrimitive<{ shape: Shape }>({
  name: "broadcast",
  abstractEval: ([x], { shape }) => withShape(x, shape),
  jvp: (_x, [t], _out, { shape }) => lax.broadcast(t!, shape),
  // Sum over the new leading axes and over the stretched ones, then restore the input shape.
  transpose: (ct, [x], { shape }) => {
    const src = inShape(x);
    const lead = shape.length - src.length;
    const axes = shape.map((_, i) => i).filter((i) => i < lead || src[i - lead] !== shape[i]);
    return [lax.reshape(lax.reduceSum(ct, axes), src)];
  },
  vmap: ([x], _d, { shape }) => {
    const lead = shape.length - (x.ndim - 1);
    const aligned = lax.reshape(x, [x.shape[0], ...new Array(lead).fill(1), ...x.shape.slice(1)]);
    return [lax.broadcast(aligned, [x.shape[0], ...shape]), 0];
  },
});

definePrimitive<{ perm: readonly number[] }>({
  name: "transpose",
  abstractEval: ([x], { perm }) => withShape(x, perm.map((p) => x.shape[p])),
  jvp: (_x, [t], _out, { perm }) => lax.transpose(t!, perm),
  transpose: (ct, _x, { perm }) => {
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => (inverse[p] = i));
    return [lax.transpose(ct, inverse)];
  },
  vmap: ([x], _d, { perm }) => [lax.transpose(x, [0, ...perm.map((p) => p + 1)]), 0],
});

type SliceParams = { begin: readonly number[]; size: readonly number[] };
definePrimitive<SliceParams>({
  name: "slice",
  abstractEval: ([x], { size }) => withShape(x, size),
  jvp: (_x, [t], _out, { begin, size }) => lax.slice(t!, begin, size),
  transpose: (ct, [x], { begin }) => [new BlockCotangent(ct, begin, inShape(x))],
  vmap: ([x], _d, { begin, size }) => [lax.slice(x, [0, ...begin], [x.shape[0], ...size]), 0],
});

type PadParams = { widths: readonly (readonly [number, number])[]; value: number };
definePrimitive<PadParams>({
  name: "pad",
  abstractEval: ([x], { widths }) =>
    withShape(x, x.shape.map((d, i) => d + widths[i][0] + widths[i][1])),
  jvp: (_x, [t], _out, { widths }) => lax.pad(t!, widths, 0),
  transpose: (ct, [x], { widths }) => [lax.slice(ct, widths.map(([a]) => a), inShape(x))],
  vmap: ([x], _d, { widths, value }) => [lax.pad(x, [[0, 0], ...widths], value), 0],
});

definePrimitive<{ axis: number }>({
  name: "concat",
  abstractEval: (xs, { axis }) =>
    withShape(
      xs[0],
      xs[0].shape.map((d, i) => i === axis ? xs.reduce((n, x) => n + x.shape[i], 0) : d),
    ),
  jvp: (xs, ts, _out, { axis }) => lax.concat(ts.map((t, i) => instantiate(t, xs[i])), axis),
  transpose: (ct, xs, { axis }) => {
    let offset = 0;
    return xs.map((x) => {
      const shape = inShape(x);
      const begin = shape.map((_, i) => (i === axis ? offset : 0));
      offset += shape[axis];
      return x instanceof LinearArg ? lax.slice(ct, begin, shape) : null;
    });
  },
  vmap: (xs, dims, { axis }, size) => [lax.concat(batchAll(xs, dims, size), axis + 1), 0],
});
