/**
 * Indexing kernels: `gather` (clip mode), `scatterAdd` (drop mode) and `iota`, with the CPU
 * reference's semantics. Operands are seen as `[outer, axis, inner]` blocks.
 *
 * `scatterAdd` is deterministic when the work is small: updates are added in index order,
 * exactly the CPU's order (bit-identical sums). On software adapters one thread per
 * `(outer, inner)` lane walks the indices as the CPU does. Elsewhere one thread per output
 * element scans only the span from the first to the last position of its index, found
 * beforehand by atomic maxima (whose results do not depend on the order of the atomics): an
 * index that occurs once costs one read, not a scan of all indices. Larger problems use
 * atomics (a compare-and-swap loop for float32), whose order of addition, and so the last
 * bits of float sums, may vary between runs.
 *
 * @module
 */

import type { Aval, Params } from "../../core/backend.ts";
import { type GpuArray, stridesOf } from "./_array.ts";
import type { GpuContext } from "./_context.ts";
import { dense, fill } from "./_map.ts";
import { coords, endFor, entry, forRange, header, wgslType } from "./_wgsl.ts";

const WG = 256;
/**
 * Above this many index checks, or 16384 indices (each thread loops over all of them, and
 * llvmpipe ends loops at 65535 iterations), scatterAdd switches to atomics.
 */
const DETERMINISTIC_WORK = 1 << 24;
/** The most indices a software adapter's thread walks in order for scatterAdd. */
const SEQUENTIAL_INDICES = 4096;

const prod = (s: readonly number[], a = 0, b = s.length) => {
  let n = 1;
  for (let i = a; i < b; i++) n *= s[i];
  return n;
};

/** `gather({ axis })` on `[x, idx]`: `out[p, i, q] = x[p, clamp(idx[i]), q]`. */
export function gather(
  ctx: GpuContext,
  [x, idx]: readonly GpuArray[],
  params: Params,
  out: Aval,
): GpuArray {
  const axis = params.axis as number;
  const o = ctx.alloc(out.shape, out.dtype);
  const total = o.size;
  const n = x.shape[axis];
  if (total === 0) return o;
  if (n === 0) {
    // Gathering from an empty axis gives zeros, as the CPU's fresh buffer does.
    o.release();
    return fill(ctx, out.shape, out.dtype, 0);
  }
  const ids = dense(ctx, idx);
  const k = ids.size;
  const inner = prod(x.shape, axis + 1);
  // The input is read through its strides: coordinates of [outer..., n, inner...] from
  // (p, row, q), with outer and inner dims each decomposed by dense strides in P.
  const rank = x.shape.length;
  const outerDims = x.shape.slice(0, axis);
  const innerDims = x.shape.slice(axis + 1);
  const params2: number[] = [total, k, inner, n, ids.offset];
  const oAt = params2.length;
  params2.push(...stridesOf(outerDims).slice(0, Math.max(0, axis - 1)));
  const iAt = params2.length;
  params2.push(...stridesOf(innerDims).slice(0, Math.max(0, innerDims.length - 1)));
  const xAt = params2.length;
  params2.push(x.offset, ...x.strides);
  const t = wgslType(x.dtype);
  const key = `gather:${t}:${rank}:${axis}`;
  const code = () => {
    let body = `  if (gid >= P[0]) { return; }
  let q = gid % P[2];
  let pi = gid / P[2];
  let i = pi % P[1];
  let p = pi / P[1];
  let n = i32(P[3]);
  var j = I[P[4] + i];
  if (j < 0) { j = j + n; }
  let row = u32(clamp(j, 0, n - 1));
`;
    body += coords("p", axis, oAt, "po");
    body += coords("q", innerDims.length, iAt, "qo");
    const names = [
      ...outerDims.map((_, d) => `po${d}`),
      "row",
      ...innerDims.map((_, d) => `qo${d}`),
    ];
    let index = `P[${xAt}]`;
    names.forEach((c, d) => (index += ` + ${c} * P[${xAt + 1 + d}]`));
    body += `  Y[gid] = X[${index}];\n`;
    return header([{ name: "X", type: t }, { name: "I", type: "i32" }], [{ name: "Y", type: t }]) +
      entry(WG, body);
  };
  ctx.dispatch({ key, code }, [x.buffer, ids.buffer], [o.buffer], params2, Math.ceil(total / WG));
  ids.release();
  return o;
}

/** The sizes of a scatterAdd: `upd` is `[outer, k, inner]`, the result `[outer, size, inner]`. */
interface Scatter {
  readonly outer: number;
  readonly k: number;
  readonly inner: number;
  readonly size: number;
  /** The WGSL type of the values. */
  readonly t: string;
}

/** `scatterAdd({ axis, size })` on `[upd, idx]`: zeros plus updates at wrapped indices. */
export function scatterAdd(
  ctx: GpuContext,
  [updIn, idxIn]: readonly GpuArray[],
  params: Params,
  out: Aval,
): GpuArray {
  const axis = params.axis as number;
  const upd = dense(ctx, updIn);
  const ids = dense(ctx, idxIn);
  const s: Scatter = {
    outer: prod(upd.shape, 0, axis),
    k: ids.size,
    inner: prod(upd.shape, axis + idxIn.shape.length),
    size: params.size as number,
    t: wgslType(out.dtype),
  };
  const total = s.outer * s.size * s.inner;
  const o = total === 0
    ? ctx.alloc(out.shape, out.dtype)
    : !ctx.useWorkgroupMemory && s.k <= SEQUENTIAL_INDICES
    ? scatterInOrder(ctx, upd, ids, s, out)
    : total * s.k <= DETERMINISTIC_WORK && s.k <= 16384
    ? scatterBySpans(ctx, upd, ids, s, out)
    : scatterAtomic(ctx, upd, ids, s, out);
  upd.release();
  ids.release();
  return o;
}

/**
 * One thread per `(outer, inner)` lane adds the lane's updates in index order into zeros: the
 * CPU's loop itself, one kernel. Where threads are CPU threads (software adapters) a loop is
 * cheap and this is the fastest; on hardware a lone thread's dependent loads are slow.
 */
function scatterInOrder(
  ctx: GpuContext,
  upd: GpuArray,
  ids: GpuArray,
  { outer, k, inner, size, t }: Scatter,
  out: Aval,
): GpuArray {
  const o = ctx.zeros(out.shape, out.dtype);
  const comb = t === "u32" ? "|" : "+";
  const code = () =>
    header([{ name: "U", type: t }, { name: "I", type: "i32" }], [{ name: "Y", type: t }]) +
    entry(
      WG,
      `  if (gid >= P[0]) { return; }
  let q = gid % P[3];
  let p = gid / P[3];
  let size = i32(P[2]);
  ${forRange("i", "0u", "P[1]", "1u")}
    var r = I[P[5] + i];
    if (r < 0) { r = r + size; }
    if (r >= 0 && r < size) {
      let to = (p * P[2] + u32(r)) * P[3] + q;
      Y[to] = Y[to] ${comb} U[P[4] + (p * P[1] + i) * P[3] + q];
    }
  ${endFor}
`,
    );
  const lanes = outer * inner;
  ctx.dispatch(
    { key: `scatterInOrder:${t}`, code },
    [upd.buffer, ids.buffer],
    [o.buffer],
    [lanes, k, size, inner, upd.offset, ids.offset],
    Math.ceil(lanes / WG),
  );
  return o;
}

/**
 * One thread per output element adds the matching updates in index order, scanning only the
 * span of its index ({@linkcode indexSpans}).
 */
function scatterBySpans(
  ctx: GpuContext,
  upd: GpuArray,
  ids: GpuArray,
  { outer, k, inner, size, t }: Scatter,
  out: Aval,
): GpuArray {
  const o = ctx.alloc(out.shape, out.dtype);
  const spans = indexSpans(ctx, ids, size);
  const comb = t === "u32" ? "acc | v" : "acc + v";
  const code = () =>
    header([{ name: "U", type: t }, { name: "I", type: "i32" }, { name: "S", type: "u32" }], [{
      name: "Y",
      type: t,
    }]) +
    entry(
      WG,
      `  if (gid >= P[0]) { return; }
  let q = gid % P[3];
  let pj = gid / P[3];
  let j = pj % P[2];
  let p = pj / P[2];
  let size = i32(P[2]);
  var acc = ${t}(0);
  ${forRange("i", "P[1] - S[2u * j]", "S[2u * j + 1u]", "1u")}
    var r = I[P[5] + i];
    if (r < 0) { r = r + size; }
    if (r == i32(j)) {
      let v = U[P[4] + (p * P[1] + i) * P[3] + q];
      acc = ${comb};
    }
  ${endFor}
  Y[gid] = acc;
`,
    );
  const total = outer * size * inner;
  ctx.dispatch(
    { key: `scatter:${t}`, code },
    [upd.buffer, ids.buffer, spans.buffer],
    [o.buffer],
    [total, k, size, inner, upd.offset, ids.offset],
    Math.ceil(total / WG),
  );
  spans.release();
  return o;
}

/** One thread per update, added atomically (a compare-and-swap loop for float32). */
function scatterAtomic(
  ctx: GpuContext,
  upd: GpuArray,
  ids: GpuArray,
  { outer, k, inner, size, t }: Scatter,
  out: Aval,
): GpuArray {
  const o = ctx.zeros(out.shape, out.dtype);
  const add = t === "f32"
    ? `var old = atomicLoad(&Y[to]);
    loop {
      let r = atomicCompareExchangeWeak(&Y[to], old, bitcast<u32>(bitcast<f32>(old) + v));
      if (r.exchanged) { break; }
      old = r.old_value;
    }`
    : t === "i32"
    ? "atomicAdd(&Y[to], bitcast<u32>(v));"
    : "atomicOr(&Y[to], v);";
  const code = () =>
    header([{ name: "U", type: t }, { name: "I", type: "i32" }], [{
      name: "Y",
      type: "atomic<u32>",
    }]) + entry(
      WG,
      `  let m = P[0];
  if (gid >= m) { return; }
  let q = gid % P[3];
  let pi = gid / P[3];
  let i = pi % P[1];
  let p = pi / P[1];
  let size = i32(P[2]);
  var r = I[P[5] + i];
  if (r < 0) { r = r + size; }
  if (r < 0 || r >= size) { return; }
  let v = U[P[4] + gid];
  let to = (p * P[2] + u32(r)) * P[3] + q;
  ${add}
`,
    );
  const m = outer * k * inner;
  ctx.dispatch(
    { key: `scatterAtomic:${t}`, code },
    [upd.buffer, ids.buffer],
    [o.buffer],
    [m, k, size, inner, upd.offset, ids.offset],
    Math.ceil(m / WG),
  );
  return o;
}

/**
 * For each destination `j < size`, where the positions of the dense index array `ids` (wrapped
 * like scatterAdd's) holding `j` lie: `S[2j] = k - first` and `S[2j+1] = last + 1`, both 0
 * (an empty span from `k` to 0) where `j` does not occur. Zeros to start, so that atomic
 * maxima find both ends.
 */
function indexSpans(ctx: GpuContext, ids: GpuArray, size: number): GpuArray {
  const spans = ctx.zeros([2 * size], "int32");
  const code = () =>
    header([{ name: "I", type: "i32" }], [{ name: "S", type: "atomic<u32>" }]) +
    entry(
      WG,
      `  if (gid >= P[0]) { return; }
  let size = i32(P[1]);
  var r = I[P[2] + gid];
  if (r < 0) { r = r + size; }
  if (r < 0 || r >= size) { return; }
  atomicMax(&S[2u * u32(r)], P[0] - gid);
  atomicMax(&S[2u * u32(r) + 1u], gid + 1u);
`,
    );
  const k = ids.size;
  ctx.dispatch(
    { key: "spans", code },
    [ids.buffer],
    [spans.buffer],
    [k, size, ids.offset],
    Math.ceil(k / WG),
  );
  return spans;
}

/** `iota({ shape, axis })`: each element is its index along `axis`. */
export function iota(
  ctx: GpuContext,
  _in: readonly GpuArray[],
  params: Params,
  out: Aval,
): GpuArray {
  const o = ctx.alloc(out.shape, out.dtype);
  const axis = params.axis as number;
  const total = o.size;
  if (total === 0) return o;
  const n = out.shape[axis];
  const inner = prod(out.shape, axis + 1);
  const t = wgslType(out.dtype);
  const value = t === "u32" ? "select(0u, 1u, j != 0u)" : `${t}(j)`;
  const key = `iota:${t}`;
  const code = () =>
    header([], [{ name: "Y", type: t }]) +
    entry(
      WG,
      `  if (gid >= P[0]) { return; }\n  let j = (gid / P[2]) % P[1];\n  Y[gid] = ${value};\n`,
    );
  ctx.dispatch({ key, code }, [], [o.buffer], [total, n, inner], Math.ceil(total / WG));
  return o;
}
