/**
 * Reductions (`reduceSum reduceMax reduceMin reduceProd`) over any set of axes, and
 * `argmax`/`argmin` along one axis, read straight from strided views (no transposing copy).
 *
 * The kept and the reduced dimensions are each collapsed, then one of two kernels runs: with
 * many outputs or short reductions, one thread per output walks its reduced elements in nested
 * loops; with few outputs or long reductions, workgroups stride over chunks of 64Ki elements
 * and combine their threads' results in workgroup memory. When an output spans several chunks,
 * the chunks' partial results are reduced again by a second, small kernel: a long reduction
 * keeps many workgroups busy, and no thread ever loops more than a few thousand times (Mesa's
 * llvmpipe silently ends a thread after 65535 loop iterations in all). Bool reduces as or (sum, max) and and
 * (prod, min); int32 wraps; NaN propagates through max/min, and argmax/argmin return the first
 * best index (the first NaN if any), as the CPU reference does.
 *
 * @module
 */

import type { Aval, Params } from "../../core/backend.ts";
import type { DType } from "../../core/dtype.ts";
import { collapse, type GpuArray, stridesOf } from "./_array.ts";
import type { GpuContext } from "./_context.ts";
import { coords, endFor, entry, forRange, header, HELPERS, wgslType } from "./_wgsl.ts";

/**
 * A value reduction: identity and combining expression per dtype.
 *
 * @example
 * ```ts
 * import { reducer } from "./_reduce.ts";
 * import assert from "node:assert/strict";
 * const { init, comb } = reducer("reduceSum", "float32");
 * assert.equal(init, "f32(0)");
 * assert.equal(comb("acc", "x"), "(acc + x)");
 * ```
 */
export function reducer(
  op: string,
  dtype: DType,
): { init: string; comb: (a: string, b: string) => string } {
  const t = wgslType(dtype);
  const f = t === "f32";
  switch (op) {
    case "reduceSum":
      return { init: `${t}(0)`, comb: (a, b) => t === "u32" ? `(${a} | ${b})` : `(${a} + ${b})` };
    case "reduceProd":
      return { init: `${t}(1)`, comb: (a, b) => t === "u32" ? `(${a} & ${b})` : `(${a} * ${b})` };
    case "reduceMax":
      return {
        init: f ? "bitcast<f32>(0xff800000u)" : t === "i32" ? "i32(-2147483648)" : "0u",
        comb: (a, b) => f ? `fmax_(${a}, ${b})` : `max(${a}, ${b})`,
      };
    case "reduceMin":
      return {
        init: f ? "bitcast<f32>(0x7f800000u)" : t === "i32" ? "2147483647" : "1u",
        comb: (a, b) => f ? `fmin_(${a}, ${b})` : `min(${a}, ${b})`,
      };
  }
  throw new Error(`webgpu backend: no kernel for primitive "${op}"`);
}

/** The reduction problem after collapsing: outputs are row-major over the kept dims. */
interface Plan {
  outer: number;
  n: number;
  params: number[];
  keptRank: number;
  redRank: number;
  /** `P` index of the input offset; kept strides follow, then reduced shape and strides. */
  xAt: number;
  redAt: number;
  /** `P` index of the reduced dims' dense strides (for the workgroup kernel). */
  redDenseAt: number;
}

function plan(x: GpuArray, axes: readonly number[]): Plan {
  const keptDims = x.shape.map((_, d) => d).filter((d) => !axes.includes(d));
  const keptShape = keptDims.map((d) => x.shape[d]);
  const kept = collapse(keptShape, [keptDims.map((d) => x.strides[d]), stridesOf(keptShape)]);
  const red = collapse(axes.map((d) => x.shape[d]), [axes.map((d) => x.strides[d])]);
  const outer = keptShape.reduce((a, b) => a * b, 1);
  const n = axes.reduce((a, d) => a * x.shape[d], 1);
  const keptRank = kept.shape.length;
  const redRank = red.shape.length;
  const params = [outer, n, ...stridesOf(kept.shape).slice(0, Math.max(0, keptRank - 1))];
  const xAt = params.length;
  params.push(x.offset, ...kept.strides[0]);
  const redAt = params.length;
  params.push(...red.shape, ...red.strides[0]);
  const redDenseAt = params.length;
  params.push(...stridesOf(red.shape).slice(0, Math.max(0, redRank - 1)));
  return { outer, n, params, keptRank, redRank, xAt, redAt, redDenseAt };
}

/** The input index of output coordinates `c*` plus reduced coordinates `k*`. */
function inputIndex(p: Plan): string {
  let s = `P[${p.xAt}]`;
  for (let d = 0; d < p.keptRank; d++) s += ` + c${d} * P[${p.xAt + 1 + d}]`;
  for (let d = 0; d < p.redRank; d++) s += ` + k${d} * P[${p.redAt + p.redRank + d}]`;
  return s;
}

/** Nested loops over the reduced dims around `body`. */
function loops(p: Plan, body: string): string {
  let open = "";
  let close = "";
  for (let d = 0; d < p.redRank; d++) {
    open += `  ${forRange(`k${d}`, "0u", `P[${p.redAt + d}]`, "1u")}`;
    close += `  ${endFor}`;
  }
  return open + body + close;
}

/** Threads per workgroup of the reduction kernels. */
export const WG = 256;
/** Elements per workgroup of the workgroup kernels: 256 iterations per thread. */
const CHUNK = WG * 256;
/** The longest reduction a single thread makes (llvmpipe caps loops at 65535 in all). */
const THREAD_LIMIT = 16384;
/** Elements per output below which a software adapter sums in one thread per output. */
const SOFTWARE_GROUP_WORK = 8192;

/**
 * Whether workgroups pay: long reductions always, and few outputs with moderate reductions.
 * On software adapters (no workgroup memory preference) each workgroup's barriers cost tens
 * of microseconds of coroutine switches, as much as a single thread summing some 8192
 * elements: there they pay only for a few outputs, each at least that long.
 */
function useWorkgroups(ctx: GpuContext, p: Plan): boolean {
  return !threadPerOutput(ctx, p.outer, p.n);
}

/**
 * Whether a reduction to `outer` values of `n` elements each runs best as one thread per
 * output (see {@linkcode useWorkgroups}), the form of a fused reduction.
 *
 * @example
 * ```ts
 * import { threadPerOutput } from "./_reduce.ts";
 * import type { GpuContext } from "./_context.ts";
 * import assert from "node:assert/strict";
 * const ctx = { useWorkgroupMemory: true } as GpuContext;
 * assert.ok(threadPerOutput(ctx, 300, 3));
 * assert.ok(!threadPerOutput(ctx, 3, 300));
 * ```
 */
export function threadPerOutput(ctx: GpuContext, outer: number, n: number): boolean {
  if (n > THREAD_LIMIT) return false;
  if (ctx.useWorkgroupMemory) return n < 256 || outer >= 8192;
  return n < SOFTWARE_GROUP_WORK * outer;
}

/**
 * The workgroup scaffold: workgroup `wg` handles output `o = wg / C` over its chunk
 * `[kb, ke)` of the linear reduced index; `C` and the chunk size are at `P[at]`, `P[at+1]`.
 */
function chunkHead(p: Plan, at: number): string {
  return `  let o = wg / P[${at}];\n  if (o >= P[0]) { return; }\n` +
    `  let kb = (wg % P[${at}]) * P[${at + 1}];\n  let ke = min(P[1], kb + P[${at + 1}]);\n` +
    coords("o", p.keptRank, 2, "c");
}

/** The kernel of `reduceSum`, `reduceMax`, `reduceMin` or `reduceProd` over `params.axes`. */
export function reduce(
  ctx: GpuContext,
  op: string,
  [x]: readonly GpuArray[],
  params: Params,
  out: Aval,
): GpuArray {
  const p = plan(x, params.axes as readonly number[]);
  if (p.outer === 0) return ctx.alloc(out.shape, out.dtype);
  const t = wgslType(out.dtype);
  const r = reducer(op, out.dtype);
  const wg = useWorkgroups(ctx, p);
  const chunks = wg ? Math.max(1, Math.ceil(p.n / CHUNK)) : 1;
  // With several chunks per output, the first pass writes [outer, chunks] partial results.
  const o = ctx.alloc(chunks === 1 ? out.shape : [p.outer, chunks], out.dtype);
  const at = p.params.length;
  const words = [...p.params, chunks, CHUNK];
  const key = `reduce:${op}:${t}:${p.keptRank}:${p.redRank}:${wg ? "wg" : "thread"}`;
  const code = () => {
    const decl = header([{ name: "X", type: t }], [{ name: "Y", type: t }]) + HELPERS;
    if (!wg) {
      const body = `  if (gid >= P[0]) { return; }\n${coords("gid", p.keptRank, 2, "c")}` +
        `  var acc = ${r.init};\n` +
        loops(p, `    acc = ${r.comb("acc", `X[${inputIndex(p)}]`)};\n`) +
        `  Y[gid] = acc;\n`;
      return decl + entry(WG, body);
    }
    const body = chunkHead(p, at) + `  var acc = ${r.init};\n` +
      `  ${forRange("k", "kb + lid", "ke", `${WG}u`)}${coords("k", p.redRank, p.redDenseAt, "k")}` +
      `    acc = ${r.comb("acc", `X[${inputIndex(p)}]`)};\n  ${endFor}` +
      `  sh[lid] = acc;\n  workgroupBarrier();\n` +
      `  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {\n` +
      `    if (lid < s) { sh[lid] = ${r.comb("sh[lid]", "sh[lid + s]")}; }\n` +
      `    workgroupBarrier();\n  }\n` +
      `  if (lid == 0u) { Y[wg] = sh[0]; }\n`;
    return decl + `var<workgroup> sh: array<${t}, ${WG}>;\n` + entry(WG, body);
  };
  const groups = wg ? p.outer * chunks : Math.ceil(p.outer / WG);
  ctx.dispatch({ key, code }, [x.buffer], [o.buffer], words, groups);
  if (chunks === 1) return o;
  // Sums of partial sums, maxima of partial maxima, ...: the same reduction again.
  const final = reduce(ctx, op, [o], { axes: [1] }, out);
  o.release();
  return final;
}

/** WGSL for `better(v, b)` of argmax/argmin: strictly better, or the first NaN. */
function betterFn(isMax: boolean, t: string): string {
  const cmp = isMax ? ">" : "<";
  const nan = t === "f32";
  return `fn better_(v: ${t}, b: ${t}) -> bool {
  ${nan ? "if (isnan_(b)) { return false; }\n  if (isnan_(v)) { return true; }" : ""}
  return v ${cmp} b;
}
`;
}

/** `argmax`/`argmin` along `params.axis`, giving int32 indices. */
export function argReduce(
  ctx: GpuContext,
  isMax: boolean,
  [x]: readonly GpuArray[],
  params: Params,
  out: Aval,
): GpuArray {
  const axis = params.axis as number;
  const p = plan(x, [axis]);
  const o = ctx.alloc(out.shape, "int32");
  if (p.outer === 0 || p.n === 0) return o;
  const t = wgslType(x.dtype);
  const wg = useWorkgroups(ctx, p);
  const chunks = wg ? Math.max(1, Math.ceil(p.n / CHUNK)) : 1;
  const parts = chunks > 1;
  const at = p.params.length;
  const words = [...p.params, chunks, CHUNK];
  const key = `arg:${isMax}:${t}:${p.keptRank}:${p.redRank}:${wg ? "wg" : "thread"}:${+parts}`;
  // The reduced axis is the only reduced dim (redRank 1), or gone when its size is 1.
  const idx = (k: string) => inputIndex(p).replace(/k0/g, k);
  const code = () => {
    const outs = parts ? [{ name: "V", type: t }, { name: "Y", type: "i32" }] : [{
      name: "Y",
      type: "i32",
    }];
    const decl = header([{ name: "X", type: t }], outs) + HELPERS + betterFn(isMax, t);
    if (!wg) {
      const body = `  if (gid >= P[0]) { return; }\n${coords("gid", p.keptRank, 2, "c")}` +
        `  var b = X[${idx("0u")}];\n  var bi = 0u;\n` +
        `  ${forRange("k", "1u", "P[1]", "1u")}    let v = X[${idx("k")}];\n` +
        `    if (better_(v, b)) { b = v; bi = k; }\n  ${endFor}  Y[gid] = i32(bi);\n`;
      return decl + entry(WG, body);
    }
    // Each thread scans its indices in increasing order; partial results then merge, the
    // smaller index winning ties, so the answer is the sequential one.
    const body = chunkHead(p, at) +
      `  var b = X[${idx("kb")}];\n  var bi = 0xffffffffu;\n` +
      `  ${forRange("k", "kb + lid", "ke", `${WG}u`)}    let v = X[${idx("k")}];\n` +
      `    if (bi == 0xffffffffu || better_(v, b)) { b = v; bi = k; }\n  ${endFor}` +
      `  sv[lid] = b;\n  si[lid] = bi;\n  workgroupBarrier();\n` +
      `  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {\n    if (lid < s) {\n` +
      `      let j = si[lid + s];\n` +
      `      if (j != 0xffffffffu && (si[lid] == 0xffffffffu || better_(sv[lid + s], sv[lid]) ||\n` +
      `          (!better_(sv[lid], sv[lid + s]) && j < si[lid]))) {\n` +
      `        sv[lid] = sv[lid + s];\n        si[lid] = j;\n      }\n    }\n` +
      `    workgroupBarrier();\n  }\n` +
      `  if (lid == 0u) {${parts ? " V[wg] = sv[0];" : ""} Y[wg] = i32(si[0]); }\n`;
    return decl +
      `var<workgroup> sv: array<${t}, ${WG}>;\nvar<workgroup> si: array<u32, ${WG}>;\n` +
      entry(WG, body);
  };
  const groups = wg ? p.outer * chunks : Math.ceil(p.outer / WG);
  if (!parts) {
    ctx.dispatch({ key, code }, [x.buffer], [o.buffer], words, groups);
    return o;
  }
  const values = ctx.alloc([p.outer, chunks], x.dtype);
  const indices = ctx.alloc([p.outer, chunks], "int32");
  ctx.dispatch({ key, code }, [x.buffer], [values.buffer, indices.buffer], words, groups);
  // Chunks come in increasing index order, so a strict comparison keeps the first best.
  const merge = () =>
    header([{ name: "V", type: t }, { name: "I", type: "i32" }], [{ name: "Y", type: "i32" }]) +
    HELPERS + betterFn(isMax, t) + entry(
      WG,
      `  if (gid >= P[0]) { return; }
  let row = gid * P[1];
  var b = V[row];
  var bi = I[row];
  for (var c = 1u; c < P[1]; c++) {
    if (better_(V[row + c], b)) { b = V[row + c]; bi = I[row + c]; }
  }
  Y[gid] = bi;
`,
    );
  ctx.dispatch(
    { key: `argmerge:${isMax}:${t}`, code: merge },
    [values.buffer, indices.buffer],
    [o.buffer],
    [p.outer, chunks],
    Math.ceil(p.outer / WG),
  );
  values.release();
  indices.release();
  return o;
}
