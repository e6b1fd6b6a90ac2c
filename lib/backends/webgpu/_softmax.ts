/**
 * Fused `softmax` and `logSoftmax` along one axis, seen as `[outer, n, inner]`.
 *
 * Along a last axis longer than a warp's worth, one workgroup owns a row: each thread makes a
 * single online pass over its strided share (a running maximum `m` and a sum `s` of
 * `exp(x - m)`, rescaled when `m` grows), the partial `(m, s)` pairs merge in workgroup
 * memory, and a second pass writes the outputs. Short rows and inner axes use one thread per
 * row with the classic max, sum, write passes, and so do software adapters, where workgroup
 * barriers cost more than they save (see `GpuContext.useWorkgroupMemory`). Both subtract the maximum, so ±1e4 logits give
 * exact finite results, and a NaN anywhere in a row makes the row NaN, as on the CPU.
 *
 * @module
 */

import type { Aval, Params } from "../../core/backend.ts";
import { type GpuArray, stridesOf } from "./_array.ts";
import { sizeOf } from "../../core/shape.ts";
import type { GpuContext } from "./_context.ts";
import { COPY, dense, mapInto } from "./_map.ts";
import { endFor, entry, forRange, header, HELPERS } from "./_wgsl.ts";

const NEG_INF = "bitcast<f32>(0xff800000u)";

/** Merges two online `(max, sum)` states; an empty state has max -inf. */
const MERGE = `
fn merge_(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  if (isnan_(a.x) || isnan_(b.x)) { return vec2<f32>(nan_(), nan_()); }
  let m = max(a.x, b.x);
  if (m == ${NEG_INF}) { return vec2<f32>(m, 0.0); }
  let sa = select(a.y * exp(a.x - m), 0.0, a.x == ${NEG_INF});
  let sb = select(b.y * exp(b.x - m), 0.0, b.x == ${NEG_INF});
  return vec2<f32>(m, sa + sb);
}
`;

function finish(log: boolean, v: string): string {
  // A row of only -inf has no finite maximum: NaN, as exp(-inf - -inf) gives on the CPU.
  return log ? `${v} - m - ls` : `exp(${v} - m) * inv`;
}

/** The longest row one thread handles (three passes; llvmpipe caps loops at 65535 in all). */
const THREAD_LIMIT = 16384;

/** `softmax` (`log` false) or `logSoftmax` along `params.axis`. */
export function softmax(
  ctx: GpuContext,
  log: boolean,
  [xIn]: readonly GpuArray[],
  params: Params,
  out: Aval,
): GpuArray {
  const axis = params.axis as number;
  const shape = xIn.shape;
  const n = shape[axis];
  const last = shape.length - 1;
  if (axis !== last && n > THREAD_LIMIT && sizeOf(shape) > 0) {
    // A long inner axis: move it last (a copy), take row softmaxes, and copy back.
    const perm = shape.map((_, d) => d).filter((d) => d !== axis).concat(axis);
    const moved = xIn.view(perm.map((d) => shape[d]), perm.map((d) => xIn.strides[d]), xIn.offset);
    const rows = softmax(ctx, log, [moved], { axis: last }, { ...out, shape: moved.shape });
    moved.release();
    const o = ctx.alloc(out.shape, out.dtype);
    const back = perm.map((_, d) => perm.indexOf(d));
    const view = rows.view(shape, back.map((d) => rows.strides[d]), 0);
    mapInto(ctx, COPY, [view], { array: o, shape, offset: 0, strides: stridesOf(shape) });
    view.release();
    rows.release();
    return o;
  }
  return rowsOrThreads(ctx, log, xIn, axis, out);
}

function rowsOrThreads(
  ctx: GpuContext,
  log: boolean,
  xIn: GpuArray,
  axis: number,
  out: Aval,
): GpuArray {
  const o = ctx.alloc(out.shape, out.dtype);
  if (o.size === 0) return o;
  const x = dense(ctx, xIn);
  const shape = x.shape;
  const n = shape[axis];
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d];
  let inner = 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d];
  const decl = header([{ name: "X", type: "f32" }], [{ name: "Y", type: "f32" }]) + HELPERS + MERGE;
  const tail = log
    ? `  let ls = select(log(st.y), bitcast<f32>(0x7fc00000u), st.x == ${NEG_INF});\n`
    : `  let inv = select(1.0 / st.y, bitcast<f32>(0x7fc00000u), st.x == ${NEG_INF});\n`;
  if (inner === 1 && n > 32 && (ctx.useWorkgroupMemory || n > THREAD_LIMIT)) {
    const wg = n >= 4096 ? 256 : 64;
    const key = `softmax:${log}:row:${wg}`;
    const code = () =>
      decl + `var<workgroup> sh: array<vec2<f32>, ${wg}>;\n` + entry(
        wg,
        `  if (wg >= P[0]) { return; }
  let n = P[1];
  let base = P[2] + wg * n;
  var m = ${NEG_INF};
  var s = 0.0;
  var bad = false;
  ${forRange("k", "lid", "n", `${wg}u`)}
    let v = X[base + k];
    bad = bad || isnan_(v);
    // Rescale only when the maximum grows (rarely, after the first elements), so most
    // elements cost one exp; -inf contributes nothing.
    if (v > m) {
      s = s * exp(m - v) + 1.0;
      m = v;
    } else if (v != ${NEG_INF}) {
      s = s + exp(v - m);
    }
  ${endFor}
  var st = vec2<f32>(m, s);
  if (bad) { st = vec2<f32>(nan_(), nan_()); }
  sh[lid] = st;
  workgroupBarrier();
  for (var h = ${wg / 2}u; h > 0u; h = h >> 1u) {
    if (lid < h) { sh[lid] = merge_(sh[lid], sh[lid + h]); }
    workgroupBarrier();
  }
  st = sh[0];
  m = st.x;
${tail}  ${forRange("k", "lid", "n", `${wg}u`)}
    Y[wg * n + k] = ${finish(log, "X[base + k]")};
  ${endFor}
`,
      );
    ctx.dispatch({ key, code }, [x.buffer], [o.buffer], [outer, n, x.offset], outer);
  } else {
    const key = `softmax:${log}:thread`;
    const code = () =>
      decl + entry(
        64,
        `  if (gid >= P[0]) { return; }
  let n = P[1];
  let inner = P[2];
  let q = gid % inner;
  let first = (gid / inner) * n * inner + q;
  let base = P[3] + first;
  var m = ${NEG_INF};
  ${forRange("k", "0u", "n", "1u")} m = fmax_(m, X[base + k * inner]); ${endFor}
  var sum = 0.0;
  ${forRange("k", "0u", "n", "1u")} sum = sum + exp(X[base + k * inner] - m); ${endFor}
  let st = vec2<f32>(m, sum);
${tail}  ${forRange("k", "0u", "n", "1u")}
    Y[first + k * inner] = ${finish(log, "X[base + k * inner]")};
  ${endFor}
`,
      );
    ctx.dispatch(
      { key, code },
      [x.buffer],
      [o.buffer],
      [outer * inner, n, inner, x.offset],
      Math.ceil((outer * inner) / 64),
    );
  }
  x.release();
  return o;
}
