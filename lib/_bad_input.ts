/**
 * The bad-input corpus's vocabulary: a case is one call with its expected outcome (an error of
 * a given class whose message matches a pattern, an exact value, or a result that is a new
 * tensor), and {@linkcode runCase} tells how a call fared, sorting failures into the ways a
 * library lets its users down: a silent wrong result, an unhelpful error, or a value that dies
 * while the user still holds it.
 *
 * @module
 */

import type { Device } from "./core/backend.ts";
import type { DType } from "./core/dtype.ts";
import { Tensor } from "./core/tensor.ts";
import { ones } from "./ops/creation.ts";

/** The error class a case expects (TypeError, RangeError, ...). */
export type ErrorClass = new (message?: string) => Error;

/** What a call should do. */
export type Expectation =
  | { readonly kind: "throws"; readonly cls: ErrorClass; readonly match: RegExp }
  | { readonly kind: "gives"; readonly value: unknown; readonly dtype?: DType }
  | { readonly kind: "fresh"; readonly input: () => Tensor };

/** One case of the corpus. */
export interface Case {
  /** The call, as written (its source text names the case). */
  readonly run: (x: Tensor) => unknown;
  /** The expected outcome. */
  readonly expect: Expectation;
  /** The devices it applies to (all when absent). */
  readonly on?: readonly Device[];
}

/** How a case fared: `ok`, or the kind of failure with what was seen. */
export type Outcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly kind: "silent" | "unhelpful" | "dies"; readonly seen: string };

/**
 * A call that must throw `cls` (exactly that class) with a message matching `match`.
 *
 * @example
 * ```ts
 * import { rejects, runCase } from "./_bad_input.ts";
 * import * as nb from "../mod.ts";
 * import assert from "node:assert/strict";
 * const c = rejects(RangeError, /sum: axis 2/, () => nb.sum(nb.zeros([2, 3]), { axis: 2 }));
 * assert.deepEqual(await runCase(c), { ok: true });
 * ```
 */
export function rejects(
  cls: ErrorClass,
  match: RegExp,
  run: () => unknown,
  on?: readonly Device[],
): Case {
  return { run, expect: { kind: "throws", cls, match }, on };
}

/**
 * A call that must give `value` (a tensor's nested values, NaN equal to NaN, floats within
 * float32 rounding; other results compared as they are), of `dtype` when one is given.
 *
 * @example
 * ```ts
 * import { gives, runCase } from "./_bad_input.ts";
 * import * as nb from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await runCase(gives([NaN], () => nb.log(nb.tensor([-1])))), { ok: true });
 * ```
 */
export function gives(
  value: unknown,
  run: () => unknown,
  opts: { dtype?: DType; on?: readonly Device[] } = {},
): Case {
  return { run, expect: { kind: "gives", value, dtype: opts.dtype }, on: opts.on };
}

/**
 * A call on an input tensor that must return a new tensor (never the input itself), so that
 * disposing the result leaves the input readable. The input defaults to `ones([64, 64])`,
 * big enough to own a block of the wasm heap.
 *
 * @example
 * ```ts
 * import { fresh, runCase } from "./_bad_input.ts";
 * import "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await runCase(fresh((x) => x.add(0))), { ok: true });
 * ```
 */
export function fresh(run: (x: Tensor) => unknown, input?: () => Tensor): Case {
  return { run, expect: { kind: "fresh", input: input ?? (() => ones([64, 64])) } };
}

/**
 * The name of a case: its call's source text.
 *
 * @example
 * ```ts
 * import { caseName, rejects } from "./_bad_input.ts";
 * import assert from "node:assert/strict";
 * assert.match(caseName(rejects(TypeError, /x/, () => 1)), /\(\)\s*=>\s*1/);
 * ```
 */
export function caseName(c: Case): string {
  return c.run.toString().replace(/\s+/g, " ");
}

/**
 * Runs one case and says how it fared.
 *
 * @example
 * ```ts
 * import { gives, runCase } from "./_bad_input.ts";
 * import assert from "node:assert/strict";
 * const outcome = await runCase(gives(2, () => 1 + 2));
 * assert.equal(outcome.ok, false);
 * ```
 */
export async function runCase(c: Case): Promise<Outcome> {
  const { expect } = c;
  if (expect.kind === "fresh") return await runFresh(c.run, expect.input());
  let result: unknown;
  try {
    result = await c.run(undefined as unknown as Tensor);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const seen = `${err.constructor.name}: ${err.message}`;
    if (expect.kind === "gives") return { ok: false, kind: "unhelpful", seen };
    const right = err.constructor === expect.cls && expect.match.test(err.message);
    return right ? { ok: true } : { ok: false, kind: "unhelpful", seen };
  }
  // A result where an error was due is not read: it may be too big to.
  if (expect.kind === "throws") return { ok: false, kind: "silent", seen: describe(result) };
  let value: unknown;
  try {
    value = await plain(result);
  } catch (e) {
    return { ok: false, kind: "dies", seen: `its result cannot be read: ${e}` };
  }
  const seen = `returned ${describe(result)} ${JSON.stringify(value)}`;
  const dtypeOk = expect.dtype === undefined ||
    (result instanceof Tensor && result.dtype === expect.dtype);
  return dtypeOk && same(value, expect.value) ? { ok: true } : { ok: false, kind: "silent", seen };
}

async function runFresh(run: (x: Tensor) => unknown, x: Tensor): Promise<Outcome> {
  let y: unknown;
  try {
    y = await run(x);
  } catch (e) {
    return { ok: false, kind: "unhelpful", seen: String(e) };
  }
  if (!(y instanceof Tensor)) return { ok: false, kind: "unhelpful", seen: describe(y) };
  if (y === x) return { ok: false, kind: "dies", seen: "returned its input" };
  const before = await x.data();
  y.dispose();
  try {
    const after = await x.data();
    return same([...after], [...before]) ? { ok: true } : {
      ok: false,
      kind: "dies",
      seen: "the input changed when the result was disposed",
    };
  } catch (e) {
    return { ok: false, kind: "dies", seen: `the input died with the result: ${e}` };
  }
}

function describe(x: unknown): string {
  if (x instanceof Tensor) return `a tensor ${x.describe()}`;
  return Array.isArray(x) ? "an array" : typeof x;
}

// Tensors (also inside arrays and objects) become their nested values.
async function plain(x: unknown): Promise<unknown> {
  if (x instanceof Tensor) return await x.toArray();
  if (Array.isArray(x)) return await Promise.all(x.map(plain));
  if (x !== null && typeof x === "object" && Object.getPrototypeOf(x) === Object.prototype) {
    const entries = await Promise.all(
      Object.entries(x).map(async ([k, v]) => [k, await plain(v)] as const),
    );
    return Object.fromEntries(entries);
  }
  return x;
}

function same(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number") {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
    return a === b || Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => same(v, b[i]));
  }
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length &&
      ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}
