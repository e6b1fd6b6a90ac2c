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

const isLeaf = (x: unknown): boolean => x instanceof Tensor || isNumeric(x);

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== "object") return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

function describe(x: unknown): string {
  if (x instanceof Tensor) return `a tensor ${x.describe()}`;
  if (Array.isArray(x)) return `an array of ${x.length}`;
  if (isPlainObject(x)) return `an object with keys [${Object.keys(x)}]`;
  return x === null ? "null" : `${typeof x} ${String(x)}`;
}

function structureError(path: string, a: unknown, e: unknown): AssertionError {
  return new AssertionError({
    message: `assertAllClose: structure differs at ${path || "the root"}: got ${
      describe(a)
    }, expected ${describe(e)}`,
  });
}

// Pairs each leaf of `actual` with the part of `expected` at the same place. The structure of
// `actual` leads: where it is a tensor or numbers (or `expected` is a tensor or a number), the
// two are compared as one array; so an expected `[[1, 2], [3, 4]]` matches an actual tensor
// [2,2] as well as an array of two tensors [2].
function pairLeaves(a: unknown, e: unknown, path: string, out: [unknown, unknown, string][]): void {
  if (isLeaf(a) || e instanceof Tensor || typeof e === "number" || typeof e === "boolean") {
    out.push([a, e, path]);
  } else if (Array.isArray(a) && Array.isArray(e)) {
    if (a.length !== e.length) throw structureError(path, a, e);
    a.forEach((x, i) => pairLeaves(x, e[i], `${path}[${i}]`, out));
  } else if (isPlainObject(a) && isPlainObject(e)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(e).length || keys.some((k) => !(k in e))) {
      throw structureError(path, a, e);
    }
    keys.forEach((k) => pairLeaves(a[k], e[k], `${path}.${k}`, out));
  } else if ((a === null || a === undefined) && a === e) {
    // Empty nodes match themselves.
  } else {
    throw structureError(path, a, e);
  }
}

// One leaf as flat values: a tensor, a number, or nested arrays of numbers and tensors.
async function toFlat(x: unknown, path: string): Promise<Flat> {
  if (x instanceof Tensor) return { values: await x.data(), shape: x.shape };
  if (typeof x === "number" || typeof x === "boolean") return { values: [Number(x)], shape: [] };
  if (Array.isArray(x)) {
    const parts = await Promise.all(x.map((c, i) => toFlat(c, `${path}[${i}]`)));
    const inner = parts[0]?.shape ?? [];
    if (parts.some((p) => p.shape.join() !== inner.join())) {
      throw new AssertionError({
        message: `assertAllClose: ragged nested array at ${path || "the root"}`,
      });
    }
    return { values: parts.flatMap((p) => Array.from(p.values)), shape: [x.length, ...inner] };
  }
  throw new TypeError(`assertAllClose: cannot compare ${describe(x)} at ${path || "the root"}`);
}

function unravel(i: number, shape: Shape): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

interface Mismatch {
  index: number;
  excess: number;
  actual: number;
  expected: number;
}

// The element that exceeds the tolerance by the most (a NaN against a number counts as the
// worst), or null when every element is within tolerance.
function worstElement(a: Flat, e: Flat, rtol: number, atol: number): Mismatch | null {
  const broadcastE = e.values.length === 1 && a.values.length !== 1;
  let worst: Mismatch | null = null;
  for (let i = 0; i < a.values.length; i++) {
    const x = a.values[i];
    const y = e.values[broadcastE ? 0 : i];
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
    const diff = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    const excess = Number.isNaN(diff) ? Infinity : diff;
    if (excess > 0 && (worst === null || excess > worst.excess)) {
      worst = { index: i, excess, actual: x, expected: y };
    }
  }
  return worst;
}

function checkShapes(a: Flat, e: Flat, where: string, what: string): void {
  const broadcastE = e.values.length === 1 && a.values.length !== 1;
  if (!broadcastE && a.shape.join() !== e.shape.join()) {
    throw new AssertionError({
      message: `${what}: ${where} has shape ${fmt(a.shape)}, expected ${fmt(e.shape)}`,
    });
  }
}

function mismatchError(
  m: Mismatch,
  a: Flat,
  where: string,
  rtol: number,
  atol: number,
  what: string,
) {
  const diff = Math.abs(m.actual - m.expected);
  return new AssertionError({
    message:
      `${what}: ${where} differs at index [${unravel(m.index, a.shape)}]: got ${m.actual}, ` +
      `expected ${m.expected} (|diff| = ${diff} > atol ${atol} + rtol ${rtol}·|expected|)`,
    actual: m.actual,
    expected: m.expected,
  });
}

function compareFlat(a: Flat, e: Flat, leaf: number, rtol: number, atol: number, what: string) {
  const where = `leaf ${leaf}`;
  checkShapes(a, e, where, what);
  const worst = worstElement(a, e, rtol, atol);
  if (worst !== null) throw mismatchError(worst, a, where, rtol, atol, what);
}

/**
 * Resolves when `actual` and `expected` (pytrees of tensors, numbers and nested arrays) agree
 * within tolerance elementwise; rejects with an AssertionError naming the worst element, its
 * index and the tolerance otherwise. NaN equals NaN. The structure of `actual` leads: a nested
 * array of numbers in `expected` may stand for a tensor or for an array of tensors, and an
 * expected number is compared with every element.
 *
 * @example
 * ```ts
 * import { tensor, testing } from "@nabla/nabla";
 * await testing.assertAllClose(tensor([1, 2]).div(3), [1 / 3, 2 / 3]);
 * await testing.assertAllClose({ a: tensor(1), b: [tensor([2]), tensor([3])] }, { a: 1.0000001, b: [[2], [3]] });
 * ```
 */
export async function assertAllClose(
  actual: unknown,
  expected: unknown,
  opts: Tolerance = {},
): Promise<void> {
  const { rtol = 1e-5, atol = 1e-6 } = opts;
  const pairs: [unknown, unknown, string][] = [];
  pairLeaves(actual, expected, "", pairs);
  const what = "assertAllClose";
  let worst: [Mismatch, Flat, string] | null = null;
  for (const [i, [a, e, path]] of pairs.entries()) {
    const [fa, fe] = await Promise.all([toFlat(a, path), toFlat(e, path)]);
    const where = pairs.length === 1 && path === ""
      ? "the value"
      : `leaf ${i}${path ? ` (${path})` : ""}`;
    checkShapes(fa, fe, where, what);
    const m = worstElement(fa, fe, rtol, atol);
    if (m !== null && (worst === null || m.excess > worst[0].excess)) worst = [m, fa, where];
  }
  if (worst !== null) throw mismatchError(worst[0], worst[1], worst[2], rtol, atol, what);
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

// The functions checkGrads accepts, and the derivative functions it builds from them.
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
  return lax.fromArray(data, x.shape, x.device);
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
        ) => (i === k ? lax.fromArray(e, y.shape, y.device) : lax.zerosLike(y)));
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
  f: (...args: Tensor[]) => unknown,
  args: Tensor[],
  opts: CheckGradsOptions = {},
): Promise<void> {
  checkGradsArguments(f, args, opts);
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

// Rejects what checkGrads cannot run, before any work: a TypeError or RangeError naming it.
function checkGradsArguments(f: unknown, args: unknown, opts: CheckGradsOptions): void {
  const kind = (x: unknown) =>
    x instanceof Tensor ? `a tensor ${x.describe()}` : Array.isArray(x) ? "an array" : typeof x;
  if (typeof f !== "function") {
    throw new TypeError(`checkGrads: f must be a function, got ${kind(f)}`);
  }
  if (!Array.isArray(args) || args.some((a) => !(a instanceof Tensor))) {
    throw new TypeError(`checkGrads: args must be an array of tensors, got ${kind(args)}`);
  }
  const { order = 1, modes = ["fwd", "rev"] } = opts;
  if (!Number.isInteger(order) || order < 1) {
    throw new RangeError(`checkGrads: order must be an integer >= 1, got ${order}`);
  }
  const wrong = Array.isArray(modes)
    ? modes.find((m) => m !== "fwd" && m !== "rev")
    : String(modes);
  if (wrong !== undefined) {
    throw new RangeError(`checkGrads: modes must be "fwd" and/or "rev", got ${wrong}`);
  }
}
