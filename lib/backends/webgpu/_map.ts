/**
 * The elementwise engine: one generated kernel maps strided input views to a strided output
 * region, one thread per element. Every elementwise primitive, `convert`, dense copies of
 * views, fills, and the copies behind `pad` and `concat` are instances of it.
 *
 * Variants are keyed by the expression, the dtypes, the rank after {@linkcode collapse} and
 * each operand's access pattern (dense, scalar or strided), while sizes, strides and offsets
 * travel in the parameter array: a training loop with many shapes compiles a few kernels. A
 * kernel may write several outputs of the iteration shape (the values of a fused chain).
 *
 * @module
 */

import type { DType } from "../../core/dtype.ts";
import type { Shape } from "../../core/shape.ts";
import { collapse, type GpuArray, stridesOf } from "./_array.ts";
import type { GpuContext } from "./_context.ts";
import { type Binding, coords, entry, header, HELPERS, strided, wgslType } from "./_wgsl.ts";

/** An elementwise function: a name for the cache key and its WGSL expression. */
export interface MapFn {
  /** Identifies the expression (with everything that changes its code). */
  readonly name: string;
  /** The expression of the loaded operands `a0, a1, ...` (`P[c]` for constants at `c`). */
  readonly expr: (args: readonly string[], constAt: number) => string;
  /** Constants (u32 bits) the expression reads from `P`. */
  readonly constants?: readonly number[];
}

/** Where a map writes: a region of an output array. */
export interface MapTarget {
  /** The array written. */
  readonly array: GpuArray;
  /** The iteration shape (the shape of every input). */
  readonly shape: Shape;
  /** Element offset of the region in the output. */
  readonly offset: number;
  /** Output strides of the region. */
  readonly strides: readonly number[];
}

const WG = 256;

/**
 * How an operand is read: dense (`c`), one value from its buffer (`s`), one value known on the
 * CPU and passed in the parameters, with no binding (`k`), or through strides (`g`).
 */
type Pattern = "c" | "s" | "k" | "g";

function pattern(strides: readonly number[], dense: readonly number[]): Pattern {
  if (strides.every((s) => s === 0)) return "s";
  if (strides.every((s, d) => s === dense[d])) return "c";
  return "g";
}

/**
 * Elementwise statements with several results (a fused chain, whose values are computed once
 * and written wherever they are needed): `lets` declares values from the loaded operands
 * `a0, a1, ...`, and `results` names one value per output.
 */
export interface MultiMapFn {
  /** Identifies the statements (with everything that changes their code). */
  readonly name: string;
  /** The statements and the values written. */
  readonly body: (args: readonly string[]) => { lets: string; results: readonly string[] };
}

/**
 * Runs `fn` over `inputs` (all of `target.shape`) into `target`. Returns nothing: the caller
 * owns the output array.
 */
export function mapInto(
  ctx: GpuContext,
  fn: MapFn,
  inputs: readonly GpuArray[],
  target: MapTarget,
): void {
  const body = (args: readonly string[], constAt: number) => ({
    lets: "",
    results: [fn.expr(args, constAt)],
  });
  mapAll(ctx, fn.name, body, fn.constants ?? [], inputs, [target]);
}

/** Runs `fn` over same-shaped inputs into fresh row-major arrays, one per result. */
export function mapMany(
  ctx: GpuContext,
  fn: MultiMapFn,
  inputs: readonly GpuArray[],
  shape: Shape,
  dtypes: readonly DType[],
): GpuArray[] {
  const outs = dtypes.map((dtype) => ctx.alloc(shape, dtype));
  const strides = stridesOf(shape);
  const targets = outs.map((array) => ({ array, shape, offset: 0, strides }));
  mapAll(ctx, `{${fn.name}}`, fn.body, [], inputs, targets);
  return outs;
}

/** One kernel over `inputs` writing each result of `body` to its target (all of one shape). */
function mapAll(
  ctx: GpuContext,
  name: string,
  body: (args: readonly string[], constAt: number) => { lets: string; results: readonly string[] },
  constants: readonly number[],
  inputs: readonly GpuArray[],
  targets: readonly MapTarget[],
): void {
  const shape = targets[0].shape;
  let n = 1;
  for (const d of shape) n *= d;
  if (n === 0) return;
  const c = collapse(shape, [...targets.map((t) => t.strides), ...inputs.map((a) => a.strides)]);
  const rank = c.shape.length;
  const dense = stridesOf(c.shape);
  const outPatterns = targets.map((_, k) => pattern(c.strides[k], dense) === "c" ? "c" : "g");
  const patterns = inputs.map((a, j) => {
    const p = pattern(c.strides[targets.length + j], dense);
    return p === "s" && a.storage.bits !== null ? "k" : p;
  });
  const bound = inputs.filter((_, j) => patterns[j] !== "k");
  const needCoords = outPatterns.includes("g") || patterns.includes("g");

  // P: [n, dense strides (rank-1), per output: offset, (strides), per input: offset,
  // (strides), constants].
  const params: number[] = [n, ...dense.slice(0, Math.max(0, rank - 1))];
  const outAt = targets.map((t, k) => {
    const at = params.length;
    params.push(t.offset);
    if (outPatterns[k] === "g") params.push(...c.strides[k]);
    return at;
  });
  const inAt = inputs.map((a, j) => {
    const at = params.length;
    params.push(patterns[j] === "k" ? a.storage.bits! : a.offset);
    if (patterns[j] === "g") params.push(...c.strides[targets.length + j]);
    return at;
  });
  const constAt = params.length;
  params.push(...constants);

  const inTypes = inputs.map((a) => wgslType(a.dtype));
  const boundTypes = bound.map((a) => wgslType(a.dtype));
  const outTypes = targets.map((t) => wgslType(t.array.dtype));
  const key = `map:${name}:${inTypes.join(",")}>${outTypes.join(",")}:${rank}:${
    outPatterns.join("")
  }${patterns.join("")}`;
  const code = () => {
    const ins: Binding[] = bound.map((_, j) => ({ name: `X${j}`, type: boundTypes[j] }));
    const outs: Binding[] = targets.map((_, k) => ({ name: `Y${k}`, type: outTypes[k] }));
    let text = `  let i = gid;\n  if (i >= P[0]) { return; }\n`;
    if (needCoords) text += coords("i", rank, 1, "c");
    let b = 0;
    const args = inputs.map((_, j) => {
      const at = inAt[j];
      if (patterns[j] === "k") {
        const t = inTypes[j];
        text += `  let a${j} = ${t === "u32" ? `P[${at}]` : `bitcast<${t}>(P[${at}])`};\n`;
        return `a${j}`;
      }
      const idx = patterns[j] === "s"
        ? `P[${at}]`
        : patterns[j] === "c"
        ? `P[${at}] + i`
        : strided(rank, at, "c");
      text += `  let a${j} = X${b++}[${idx}];\n`;
      return `a${j}`;
    });
    const { lets, results } = body(args, constAt);
    text += lets;
    results.forEach((value, k) => {
      const o = outPatterns[k] === "c" ? `P[${outAt[k]}] + i` : strided(rank, outAt[k], "c");
      text += `  Y${k}[${o}] = ${value};\n`;
    });
    return header(ins, outs) + HELPERS + entry(WG, text);
  };
  ctx.dispatch(
    { key, code },
    bound.map((a) => a.buffer),
    targets.map((t) => t.array.buffer),
    params,
    Math.ceil(n / WG),
  );
}

/** Runs `fn` over same-shaped inputs into a fresh row-major array of `dtype`. */
export function map(
  ctx: GpuContext,
  fn: MapFn,
  inputs: readonly GpuArray[],
  shape: Shape,
  dtype: DType,
): GpuArray {
  const out = ctx.alloc(shape, dtype);
  mapInto(ctx, fn, inputs, { array: out, shape, offset: 0, strides: stridesOf(shape) });
  return out;
}

/** The identity: copies a view. */
export const COPY: MapFn = { name: "copy", expr: ([a]) => a };

/** A dense row-major copy of a view, or the view itself (with a new reference) if dense. */
export function dense(ctx: GpuContext, a: GpuArray): GpuArray {
  if (a.contiguous) return a.view(a.shape, stridesOf(a.shape), a.offset);
  return map(ctx, COPY, [a], a.shape, a.dtype);
}

/** A fresh array of `shape` filled with the constant whose bits are `bits`. */
export function fill(ctx: GpuContext, shape: Shape, dtype: DType, bits: number): GpuArray {
  if (bits === 0) return ctx.zeros(shape, dtype);
  const fn: MapFn = {
    name: "fill",
    expr: (_a, at) => dtype === "bool" ? `P[${at}]` : `bitcast<${wgslType(dtype)}>(P[${at}])`,
    constants: [bits],
  };
  return map(ctx, fn, [], shape, dtype);
}
