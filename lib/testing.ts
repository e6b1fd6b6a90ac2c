/**
 * Test helpers: `assertAllClose` for values and `checkGrads` for derivatives against central
 * finite differences in float64.
 *
 * @module
 */

import { AssertionError } from "node:assert";
import { isFloat } from "./core/dtype.ts";
import * as lax from "./core/lax.ts";
import { fmt, type Shape } from "./core/shape.ts";
import { Tensor } from "./core/tensor.ts";
import { vjp } from "./transforms/grad.ts";
import { jvp } from "./transforms/jvp.ts";
import { flatten, unflatten } from "./tree.ts";

/** Tolerances: `|actual - expected| <= atol + rtol·|expected|`. */
export interface Tolerance {
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
}

interface Flat {
  values: ArrayLike<number>;
  shape: Shape;
}

const isNumeric = (x: unknown): boolean =>
  typeof x === "number" || typeof x === "boolean" ||
  (Array.isArray(x) && x.length > 0 && x.every(isNumeric));

function nestedShape(x: unknown): number[] {
  const shape: number[] = [];
  for (let v = x; Array.isArray(v); v = v[0]) shape.push(v.length);
  return shape;
}

// Numeric nested arrays are one leaf; any other array or object is a pytree node.
async function leavesOf(x: unknown): Promise<Flat[]> {
  if (x instanceof Tensor) return [{ values: await x.data(), shape: x.shape }];
  if (isNumeric(x)) {
    return [{
      values: (x as unknown[]).flat?.(Infinity).map(Number) ?? [Number(x)],
      shape: nestedShape(x),
    }];
  }
  if (Array.isArray(x) && x.length === 0) return [{ values: [], shape: [0] }];
  const [leaves] = flatten(x);
  if (leaves.length === 1 && leaves[0] === x) {
    throw new TypeError(`assertAllClose: cannot compare a value of type ${typeof x}`);
  }
  return (await Promise.all(leaves.map(leavesOf))).flat();
}

function unravel(i: number, shape: Shape): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

function compareFlat(a: Flat, e: Flat, leaf: number, rtol: number, atol: number, what: string) {
  const broadcastE = e.values.length === 1 && a.values.length !== 1;
  if (!broadcastE && a.shape.join() !== e.shape.join()) {
    throw new AssertionError({
      message: `${what}: leaf ${leaf} has shape ${fmt(a.shape)}, expected ${fmt(e.shape)}`,
    });
  }
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.values.length; i++) {
    const x = a.values[i];
    const y = e.values[broadcastE ? 0 : i];
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (x === y) continue;
    const excess = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    const x = a.values[worst];
    const y = e.values[broadcastE ? 0 : worst];
    throw new AssertionError({
      message:
        `${what}: leaf ${leaf} differs at index [${
          unravel(worst, a.shape)
        }]: got ${x}, expected ${y} ` +
        `(|diff| = ${Math.abs(x - y)} > atol ${atol} + rtol ${rtol}·|expected|)`,
      actual: x,
      expected: y,
    });
  }
}

/**
 * Resolves when `actual` and `expected` (pytrees of tensors, numbers and nested arrays) agree
 * within tolerance elementwise; rejects with an AssertionError naming the worst element, its
 * index and the tolerance otherwise. NaN equals NaN.
 *
 * @example
 * ```ts
 * import { tensor, testing } from "@nabla/nabla";
 * await testing.assertAllClose(tensor([1, 2]).div(3), [1 / 3, 2 / 3]);
 * await testing.assertAllClose({ a: tensor(1) }, { a: 1.0000001 });
 * ```
 */
export async function assertAllClose(
  actual: unknown,
  expected: unknown,
  opts: Tolerance = {},
): Promise<void> {
  const { rtol = 1e-5, atol = 1e-6 } = opts;
  const [a, e] = await Promise.all([leavesOf(actual), leavesOf(expected)]);
  if (a.length !== e.length) {
    throw new AssertionError({
      message: `assertAllClose: ${a.length} leaves, expected ${e.length}`,
    });
  }
  a.forEach((leaf, i) => compareFlat(leaf, e[i], i, rtol, atol, "assertAllClose"));
}

/** Options of `checkGrads`. */
export interface CheckGradsOptions extends Tolerance {
  /** Highest derivative order to check (default 1). */
  order?: number;
  /** Which modes to check: forward (`jvp`) and/or reverse (`vjp`). */
  modes?: ("fwd" | "rev")[];
  /** Finite-difference step (default 1e-5). */
  eps?: number;
}

type Fn = (...args: Tensor[]) => unknown;

// A deterministic stream of directions in [-1, 1), so failures reproduce.
function directions(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
}

function randomLike(x: Tensor, next: () => number): Tensor {
  const data = new Float64Array(x.size).map(next);
  return lax.fromArray(data, x.shape, "cpu");
}

function outLeaves(y: unknown): Tensor[] {
  return flatten<Tensor>(y)[0].filter((l): l is Tensor => l instanceof Tensor);
}

function inner(a: Tensor[], b: Tensor[]): number {
  let s = 0;
  a.forEach((t, i) => {
    const x = t.dataSync();
    const y = b[i].dataSync();
    for (let j = 0; j < x.length; j++) s += x[j] * y[j];
  });
  return s;
}

function axpy(x: Tensor, u: Tensor, c: number): Tensor {
  return lax.add(x, lax.mul(u, lax.fullLike(u, c)));
}

function checkOnce(
  f: Fn,
  args: Tensor[],
  o: Required<CheckGradsOptions>,
  order: number,
  seed: number,
): void {
  const next = directions(seed);
  const varying = args.flatMap((a, i) => (isFloat(a.dtype) ? [i] : []));
  const [g, xs] = overFloats(f, args);
  const at = (c: number, dir: Tensor[]) => outLeaves(g(...xs.map((x, i) => axpy(x, dir[i], c))));
  const label = (mode: string) => `checkGrads (order ${order}, ${mode})`;
  if (o.modes.includes("fwd")) {
    const us = xs.map((x) => randomLike(x, next));
    const analytic = outLeaves(jvp(g, xs, us)[1]);
    const plus = at(o.eps, us);
    const minus = at(-o.eps, us);
    analytic.forEach((t, i) => {
      const numeric = lax.div(lax.sub(plus[i], minus[i]), lax.fullLike(plus[i], 2 * o.eps));
      compareFlat(flat(t), flat(numeric), i, o.rtol, o.atol, label("fwd"));
    });
  }
  if (o.modes.includes("rev")) {
    const [out, back] = vjp(g, ...xs);
    const [leaves, def] = flatten<Tensor>(out);
    const vs = leaves.map((y) => randomLike(y, next));
    const cts = back(unflatten(def, vs)) as Tensor[];
    xs.forEach((x, k) => {
      // Central differences of <v, g(x)> along each coordinate of argument k.
      const numeric = new Float64Array(x.size);
      for (let j = 0; j < x.size; j++) {
        const e = new Float64Array(x.size);
        e[j] = 1;
        const dir = xs.map((
          y,
          i,
        ) => (i === k ? lax.fromArray(e, y.shape, "cpu") : lax.zerosLike(y)));
        numeric[j] = (inner(vs, at(o.eps, dir)) - inner(vs, at(-o.eps, dir))) / (2 * o.eps);
      }
      const what = `${label("rev")}, argument ${varying[k]}`;
      compareFlat(flat(cts[k]), { values: numeric, shape: x.shape }, 0, o.rtol, o.atol, what);
    });
  }
}

const flat = (t: Tensor): Flat => ({ values: t.dataSync(), shape: t.shape });

/**
 * Checks `f`'s derivatives against central finite differences in float64: forward mode along
 * a random tangent, reverse mode element by element for a random output cotangent, and, for
 * `order` > 1, the same checks on those derivative functions. Resolves when they agree;
 * rejects with an AssertionError naming the worst element otherwise.
 *
 * @example
 * ```ts
 * import { tensor, testing } from "@nabla/nabla";
 * await testing.checkGrads((x) => x.sin().mul(x), [tensor([0.5, -1.2])], { order: 2 });
 * ```
 */
export function checkGrads(
  f: Fn,
  args: Tensor[],
  opts: CheckGradsOptions = {},
): Promise<void> {
  const o: Required<CheckGradsOptions> = {
    order: opts.order ?? 1,
    modes: opts.modes ?? ["fwd", "rev"],
    eps: opts.eps ?? 1e-5,
    rtol: opts.rtol ?? 1e-5,
    atol: opts.atol ?? 1e-6,
  };
  const args64 = args.map((a) => (isFloat(a.dtype) ? lax.convert(a, "float64") : a));
  const check = (fn: Fn, order: number, seed: number): void => {
    checkOnce(fn, args64, o, order, seed);
    if (order >= o.order) return;
    const next = directions(seed + 101);
    if (o.modes.includes("fwd")) {
      const us = args64.filter((a) => isFloat(a.dtype)).map((a) => randomLike(a, next));
      check(
        (...xs) => {
          const [g, ys] = overFloats(fn, xs);
          return jvp(g, ys, us)[1];
        },
        order + 1,
        seed + 1,
      );
    }
    if (o.modes.includes("rev")) {
      check(
        (...xs) => {
          const [g, ys] = overFloats(fn, xs);
          const [out, back] = vjp(g, ...ys);
          const [leaves, def] = flatten<Tensor>(out);
          const nextV = directions(seed + 202);
          return back(unflatten(def, leaves.map((l) => randomLike(l, nextV))));
        },
        order + 1,
        seed + 2,
      );
    }
  };
  try {
    check(f, 1, 17);
    return Promise.resolve();
  } catch (e) {
    return Promise.reject(e);
  }
}

// Fixes the non-float arguments, giving a function of the floating-point ones alone.
function overFloats(fn: Fn, xs: Tensor[]): [Fn, Tensor[]] {
  const fixed = xs.map((x) => (isFloat(x.dtype) ? null : x));
  const g = (...ys: Tensor[]) => {
    let pos = 0;
    return fn(...fixed.map((x) => x ?? ys[pos++]));
  };
  return [g, xs.filter((x) => isFloat(x.dtype))];
}
