/**
 * Elementwise primitives: unary math, binary arithmetic, comparisons, `select`, `convert` and
 * `stopGradient`. Binary primitives take operands of one shape and dtype; the ops layer
 * broadcasts and promotes before binding them.
 *
 * @module
 */

import { type DType, isFloat } from "../dtype.ts";
import * as lax from "../lax.ts";
import { type BatchDim, definePrimitive, LinearArg } from "../primitive.ts";
import type { Tensor } from "../tensor.ts";
import { batchAll, instantiate, sameAsFirst } from "./_rules.ts";

type NoParams = Record<never, never>;

const mapUnary = (f: (x: Tensor) => Tensor) => (args: Tensor[], dims: BatchDim[]) =>
  [f(args[0]), dims[0]] as [Tensor, BatchDim];

function unary(
  name: string,
  jvp: (x: Tensor, t: Tensor, out: Tensor) => Tensor | null,
  transpose?: (ct: Tensor) => Tensor,
) {
  const f = (x: Tensor) => lax[name as "exp"](x);
  return definePrimitive<NoParams>({
    name,
    abstractEval: sameAsFirst,
    jvp: ([x], [t], out) => jvp(x, t!, out),
    transpose: transpose && ((ct) => [transpose(ct)]),
    vmap: mapUnary(f),
  });
}

unary("neg", (_x, t) => lax.neg(t), lax.neg);
unary("exp", (_x, t, out) => lax.mul(t, out));
unary("log", (x, t) => lax.div(t, x));
unary("sqrt", (_x, t, out) => lax.div(t, lax.scale(out, 2)));
unary("sin", (x, t) => lax.mul(t, lax.cos(x)));
unary("cos", (x, t) => lax.neg(lax.mul(t, lax.sin(x))));
unary("tanh", (_x, t, out) => lax.mul(t, lax.sub(lax.fullLike(out, 1), lax.mul(out, out))));
unary("sigmoid", (_x, t, out) => lax.mul(t, lax.mul(out, lax.sub(lax.fullLike(out, 1), out))));
unary("abs", (x, t) => lax.mul(t, lax.sign(x)));
unary("sign", () => null);
unary("log1p", (x, t) => lax.div(t, lax.add(x, lax.fullLike(x, 1))));
unary("expm1", (_x, t, out) => lax.mul(t, lax.add(out, lax.fullLike(out, 1))));

function binary(
  name: string,
  jvp: (x: Tensor, y: Tensor, tx: Tensor | null, ty: Tensor | null, out: Tensor) => Tensor | null,
  transpose?: (ct: Tensor, x: Tensor | LinearArg, y: Tensor | LinearArg) => (Tensor | null)[],
) {
  const f = (x: Tensor, y: Tensor) => lax[name as "add"](x, y);
  return definePrimitive<NoParams>({
    name,
    abstractEval: sameAsFirst,
    jvp: ([x, y], [tx, ty], out) => jvp(x, y, tx, ty, out),
    transpose: transpose && ((ct, [x, y]) => transpose(ct, x, y)),
    vmap: (args, dims, _p, size) => {
      const [x, y] = batchAll(args, dims, size);
      return [f(x, y), 0];
    },
  });
}

const isLin = (a: unknown): a is LinearArg => a instanceof LinearArg;

binary(
  "add",
  (_x, _y, tx, ty) => lax.addMaybe(tx, ty),
  (ct, x, y) => [isLin(x) ? ct : null, isLin(y) ? ct : null],
);
binary(
  "sub",
  (_x, _y, tx, ty) => ty === null ? tx : lax.addMaybe(tx, lax.neg(ty)),
  (ct, x, y) => [isLin(x) ? ct : null, isLin(y) ? lax.neg(ct) : null],
);
binary(
  "mul",
  (x, y, tx, ty) => lax.addMaybe(tx && lax.mul(tx, y), ty && lax.mul(x, ty)),
  (
    ct,
    x,
    y,
  ) => [isLin(x) ? lax.mul(ct, y as Tensor) : null, isLin(y) ? lax.mul(x as Tensor, ct) : null],
);
binary(
  "div",
  (_x, y, tx, ty, out) =>
    lax.addMaybe(tx && lax.div(tx, y), ty && lax.neg(lax.mul(ty, lax.div(out, y)))),
  (ct, x, y) => [isLin(x) ? lax.div(ct, y as Tensor) : null, null],
);
binary("pow", (x, y, tx, ty, out) => {
  const dx = tx && lax.mul(tx, lax.mul(y, lax.pow(x, lax.sub(y, lax.fullLike(y, 1)))));
  if (ty === null) return dx;
  // d/dy x^y = x^y ln x, taken as 0 at x = 0 (where x^y is 0 or 1 and ln x is -inf).
  const zero = lax.zerosLike(x);
  const logX = lax.select(lax.eq(x, zero), zero, lax.log(x));
  return lax.addMaybe(dx, lax.mul(ty, lax.mul(out, logX)));
});
// Ties send half of each tangent to each side, as JAX does, keeping max(x, x) = x exact.
const extremumJvp =
  (pick: (x: Tensor, y: Tensor) => Tensor) =>
  (x: Tensor, y: Tensor, tx: Tensor | null, ty: Tensor | null) => {
    const half = lax.fullLike(x, 0.5);
    const wx = lax.select(
      pick(x, y),
      lax.fullLike(x, 1),
      lax.select(lax.eq(x, y), half, lax.zerosLike(x)),
    );
    const wy = lax.sub(lax.fullLike(x, 1), wx);
    return lax.addMaybe(tx && lax.mul(tx, wx), ty && lax.mul(ty, wy));
  };
binary("max", extremumJvp(lax.gt));
binary("min", extremumJvp(lax.lt));

for (const name of ["eq", "ne", "lt", "le", "gt", "ge"]) {
  definePrimitive<NoParams>({
    name,
    abstractEval: ([x]) => ({ shape: x.shape, dtype: "bool", device: x.device }),
    jvp: () => null,
    vmap: (args, dims, _p, size) => {
      const [x, y] = batchAll(args, dims, size);
      return [lax[name as "eq"](x, y), 0];
    },
  });
}

definePrimitive<NoParams>({
  name: "select",
  abstractEval: ([, a]) => a,
  jvp: ([cond, a, b], [, ta, tb]) => lax.select(cond, instantiate(ta, a), instantiate(tb, b)),
  transpose: (ct, [cond, a, b]) => {
    const zero = lax.zerosLike(ct);
    const c = cond as Tensor;
    return [
      null,
      isLin(a) ? lax.select(c, ct, zero) : null,
      isLin(b) ? lax.select(c, zero, ct) : null,
    ];
  },
  vmap: (args, dims, _p, size) => {
    const [c, a, b] = batchAll(args, dims, size);
    return [lax.select(c, a, b), 0];
  },
});

definePrimitive<{ dtype: DType }>({
  name: "convert",
  abstractEval: ([x], { dtype }) => ({ shape: x.shape, dtype, device: x.device }),
  jvp: ([x], [t], _out, { dtype }) =>
    isFloat(x.dtype) && isFloat(dtype) ? lax.convert(t!, dtype) : null,
  transpose: (ct, [x]) => [lax.convert(ct, (x as LinearArg).aval.dtype)],
  vmap: ([x], [d], { dtype }) => [lax.convert(x, dtype), d],
});

definePrimitive<NoParams>({
  name: "stopGradient",
  abstractEval: sameAsFirst,
  jvp: () => null,
  vmap: mapUnary(lax.stopGradient),
});
