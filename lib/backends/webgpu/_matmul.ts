/**
 * `matmul`: `[...batch, m, k] @ [...batch, k, n]`, tiled.
 *
 * A workgroup of 16×16 threads computes a 64×64 output tile, each thread a 4×4 block held in
 * four `vec4` accumulators. Per step of 16 along k, the workgroup stages a 64×16 tile of each
 * operand in workgroup memory. Operands are read through their strides, so transposed and
 * broadcast views (the backward pass's `a.T @ g`, a shared weight across a batch) need no copy:
 * each tile load walks the operand's contiguous dimension, with `vec4` loads where it is
 * 4-aligned. Edge tiles are zero-filled, so any m, n, k works (1 and primes included), while
 * shapes that divide the tiles get a variant without bounds checks.
 *
 * When the output has few tiles and k is long, the k range is split across workgroups (split-K)
 * into partial products that a second kernel adds in a fixed order.
 *
 * On a software adapter (llvmpipe, SwiftShader: `isFallbackAdapter`) workgroup memory buys
 * nothing, as the "GPU" is the CPU's caches, while every kernel using it takes seconds to
 * compile. There each thread computes its 4×4 block straight from the operands (a register
 * tile), clamping edge rows and columns instead of branching in the inner loop.
 *
 * @module
 */

import type { Aval, Params } from "../../core/backend.ts";
import { collapse, type GpuArray, stridesOf } from "./_array.ts";
import type { GpuContext, KernelSpec } from "./_context.ts";
import { fill, mapMany } from "./_map.ts";
import type { DType } from "../../core/dtype.ts";
import { coords, endFor, entry, forRange, header, HELPERS, wgslType } from "./_wgsl.ts";

const TILE = 64;
const TK = 16;

/** How one operand is read: along k (`k`), along its m or n dimension (`mn`), in vec4s. */
interface Access {
  quad: "k" | "mn";
  vec: boolean;
}

function access(
  sMn: number,
  sK: number,
  mn: number,
  k: number,
  offset: number,
  batch: readonly number[],
): Access {
  const aligned = offset % 4 === 0 && batch.every((s) => s % 4 === 0);
  if (sK === 1 && k > 1) return { quad: "k", vec: aligned && k % 4 === 0 && sMn % 4 === 0 };
  if (sMn === 1 && mn > 1) return { quad: "mn", vec: aligned && mn % 4 === 0 && sK % 4 === 0 };
  return { quad: "k", vec: false };
}

/**
 * WGSL loading one 64×16 tile of operand `X` into workgroup array `S` (laid out [k][mn/4]).
 * `sMn`/`sK` are the P expressions of its strides, `lim` the extent along m or n, `o` the
 * tile origin along it.
 */
function loadTile(
  X: string,
  S: string,
  acc: Access,
  t: string,
  checked: boolean,
  base: string,
  sMn: string,
  sK: string,
  lim: string,
  o: string,
): string {
  const ok = (mn: string, k: string) => checked ? `${mn} < ${lim} && ${k} < K` : "true";
  const zero = `vec4<${t}>(${t}(0))`;
  if (acc.quad === "k") {
    let s = `  {\n    let r = lid / 4u;\n    let kq = (lid % 4u) * 4u;\n` +
      `    let gm = ${o} + r;\n    let gk = k0 + kq;\n    var v = ${zero};\n`;
    if (acc.vec) {
      s += `    if (${ok("gm", "gk")}) { v = ${X}[(${base} + gm * ${sMn} + gk) / 4u]; }\n`;
    } else {
      for (let j = 0; j < 4; j++) {
        s += `    if (${ok("gm", `gk + ${j}u`)}) { v[${j}] = ${X}[${base} + gm * ${sMn} + ` +
          `(gk + ${j}u) * ${sK}]; }\n`;
      }
    }
    for (let j = 0; j < 4; j++) s += `    ${S}[(kq + ${j}u) * 16u + r / 4u][r % 4u] = v[${j}];\n`;
    return s + "  }\n";
  }
  let s = `  {\n    let kk = lid / 16u;\n    let rq = (lid % 16u) * 4u;\n` +
    `    let gm = ${o} + rq;\n    let gk = k0 + kk;\n    var v = ${zero};\n`;
  if (acc.vec) {
    s += `    if (${ok("gm", "gk")}) { v = ${X}[(${base} + gm + gk * ${sK}) / 4u]; }\n`;
  } else {
    for (let j = 0; j < 4; j++) {
      s +=
        `    if (${ok(`gm + ${j}u`, "gk")}) { v[${j}] = ${X}[${base} + (gm + ${j}u) * ${sMn} + ` +
        `gk * ${sK}]; }\n`;
    }
  }
  return s + `    ${S}[kk * 16u + rq / 4u] = v;\n  }\n`;
}

/** Everything the generated code depends on (the cache key is built from it). */
interface Variant {
  t: string;
  br: number;
  accA: Access;
  accB: Access;
  checked: boolean;
  vecOut: boolean;
  aBatchAt: number;
  bBatchAt: number;
  /** The epilogue, and where its inputs' offsets and strides start in `P`. */
  ep?: { epilogue: Epilogue; at: number };
}

/**
 * Elementwise work the kernel of a 2-D product does on each result before it stores anything:
 * a fused chain after the product (a bias, an activation), whose values it writes instead.
 */
export interface Epilogue {
  /** Identifies the code (the kernel cache key). */
  readonly name: string;
  /** Arrays of the product's shape (any strides) that the chain reads. */
  readonly inputs: readonly GpuArray[];
  /** The chain's statements from the product's value and the inputs' values, and its results. */
  readonly body: (args: readonly string[]) => { lets: string; results: readonly string[] };
  /** The results' dtypes, one output array each. */
  readonly dtypes: readonly DType[];
}

/** P layout: [M, N, K, tilesM, tilesN, nb, chunk, aOff, sam, sak, bOff, sbk, sbn, splits, ...]. */
const BATCH_AT = 14;

function keyOf(kind: string, v: Variant): string {
  const ep = v.ep ? `:ep(${v.ep.epilogue.name})` : "";
  return `matmul:${kind}:${v.t}:${v.br}:${v.accA.quad}${+v.accA.vec}:${v.accB.quad}${+v.accB
    .vec}:` +
    `${+v.checked}:${+v.vecOut}${ep}`;
}

/**
 * Stores result `value` at row `row` and column `col`: into `Y`, or, with an epilogue, its
 * chain's results into `Y0, Y1, ...` (2-D products only: no batch, no split along k).
 */
function storeOne(v: Variant, row: string, col: string, value: string): string {
  if (!v.ep) {
    return `  if (${row} < M && ${col} < N) { Y[orow + ${row} * N + ${col}] = ${value}; }\n`;
  }
  const { epilogue, at } = v.ep;
  const args = [value];
  epilogue.inputs.forEach((_, k) => {
    const p = at + 3 * k;
    args.push(`X${k}[P[${p}] + ${row} * P[${p + 1}] + ${col} * P[${p + 2}]]`);
  });
  const { lets, results } = epilogue.body(args);
  const stores = results.map((r, k) => `    Y${k}[${row} * N + ${col}] = ${r};\n`).join("");
  return `  if (${row} < M && ${col} < N) {\n${lets}${stores}  }\n`;
}

/** Decomposes linear id `id` into tile coordinates, batch and split, and the batch bases. */
function locate(v: Variant, id: string): string {
  let aBase = "P[7]";
  let bBase = "P[10]";
  for (let d = 0; d < v.br; d++) {
    aBase += ` + bc${d} * P[${v.aBatchAt + d}]`;
    bBase += ` + bc${d} * P[${v.bBatchAt + d}]`;
  }
  return `  let M = P[0];
  let N = P[1];
  let K = P[2];
  let tn = ${id} % P[4];
  let w1 = ${id} / P[4];
  let tm = w1 % P[3];
  let w2 = w1 / P[3];
  let bi = w2 % P[5];
  let split = w2 / P[5];
${coords("bi", v.br, BATCH_AT, "bc")}  let aBase = ${aBase};
  let bBase = ${bBase};
  let kBegin = split * P[6];
  let kEnd = min(K, kBegin + P[6]);
  let orow = (split * P[5] + bi) * M * N;
`;
}

/** Stores accumulators `acc0..3` (rows `m + i`, columns from `n`). */
function store(v: Variant, m: string): string {
  let s = "";
  for (let i = 0; i < 4; i++) {
    const row = `(${m} + ${i}u)`;
    if (v.vecOut) {
      s += `  if (${row} < M && n < N) { Y[(orow + ${row} * N + n) / 4u] = acc${i}; }\n`;
    } else {
      for (let j = 0; j < 4; j++) s += storeOne(v, row, `(n + ${j}u)`, `acc${i}[${j}]`);
    }
  }
  return s;
}

function bindings(v: Variant): string {
  const vt = `vec4<${v.t}>`;
  const ab = [{ name: "A", type: v.accA.vec ? vt : v.t }, {
    name: "B",
    type: v.accB.vec ? vt : v.t,
  }];
  if (!v.ep) return header(ab, [{ name: "Y", type: v.vecOut ? vt : v.t }]);
  const { inputs, dtypes } = v.ep.epilogue;
  return header(
    [...ab, ...inputs.map((x, k) => ({ name: `X${k}`, type: wgslType(x.dtype) }))],
    dtypes.map((d, k) => ({ name: `Y${k}`, type: wgslType(d) })),
  ) + HELPERS;
}

/** The 64×64 workgroup-memory kernel (16×16 threads, 4×4 each). */
function sharedKernel(v: Variant): KernelSpec {
  const code = () => {
    const t = v.t;
    const vt = `vec4<${t}>`;
    const body = `${locate(v, "wg")}  let tx = lid % 16u;
  let ty = lid / 16u;
  let m0 = tm * ${TILE}u;
  let n0 = tn * ${TILE}u;
  var acc0 = ${vt}(${t}(0));
  var acc1 = ${vt}(${t}(0));
  var acc2 = ${vt}(${t}(0));
  var acc3 = ${vt}(${t}(0));
  ${forRange("k0", "kBegin", "kEnd", `${TK}u`)}
${loadTile("A", "As", v.accA, t, v.checked, "aBase", "P[8]", "P[9]", "M", "m0")}${
      loadTile("B", "Bs", v.accB, t, v.checked, "bBase", "P[12]", "P[11]", "N", "n0")
    }    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk++) {
      let av = As[kk * 16u + ty];
      let bv = Bs[kk * 16u + tx];
      acc0 += av.x * bv;
      acc1 += av.y * bv;
      acc2 += av.z * bv;
      acc3 += av.w * bv;
    }
    workgroupBarrier();
  ${endFor}
  let n = n0 + tx * 4u;
${store(v, "m0 + ty * 4u")}`;
    return bindings(v) + `var<workgroup> As: array<${vt}, ${TK * TILE / 4}>;\n` +
      `var<workgroup> Bs: array<${vt}, ${TK * TILE / 4}>;\n` + entry(256, body);
  };
  return { key: keyOf("shared", v), code };
}

/**
 * The register kernel for software adapters: one thread per 4×8 block, operands read
 * directly. Wider than the 4×4 of the workgroup kernel because a CPU lane gains most from
 * reusing each load: with A read in vec4s along k, each step of 4 along k loads 4 + 8 vec4s
 * for 128 multiply-adds.
 */
function registerKernel(v: Variant): KernelSpec {
  const code = () => {
    const t = v.t;
    const vt = `vec4<${t}>`;
    // Edge rows and columns are clamped (read again, never stored): the loop has no branch.
    let setup = "";
    for (let i = 0; i < 4; i++) {
      const row = `aBase + min(m + ${i}u, M - 1u) * P[8]`;
      setup += v.accA.vec ? `  let ra${i} = (${row}) / 4u;\n` : `  let ra${i} = ${row};\n`;
    }
    let bRow: (k: string) => string;
    if (v.accB.vec) {
      // The high quad starts at most at N - 4, so it is in bounds (and unused) at the edge.
      setup += `  let cl = bBase + n;\n  let ch = bBase + min(n + 4u, N - 4u);\n`;
      bRow = (k) =>
        `    let bl = B[(cl + ${k} * P[11]) / 4u];\n    let bh = B[(ch + ${k} * P[11]) / 4u];\n`;
    } else {
      for (let j = 0; j < 8; j++) {
        setup += `  let cb${j} = bBase + min(n + ${j}u, N - 1u) * P[12];\n`;
      }
      const quad = (o: number, k: string) =>
        `${vt}(${[0, 1, 2, 3].map((j) => `B[cb${o + j} + ${k} * P[11]]`).join(", ")})`;
      bRow = (k) => `    let bl = ${quad(0, k)};\n    let bh = ${quad(4, k)};\n`;
    }
    const fma = (a: (i: number) => string) =>
      [0, 1, 2, 3].map((i) => `    l${i} += ${a(i)} * bl;\n    h${i} += ${a(i)} * bh;\n`).join("");
    let loop: string;
    if (v.accA.vec) {
      loop = `  ${forRange("k", "kBegin", "kEnd", "4u")}` +
        [0, 1, 2, 3].map((i) => `    let a${i} = A[ra${i} + k / 4u];\n`).join("");
      for (let j = 0; j < 4; j++) {
        loop += `  {\n${bRow(`(k + ${j}u)`)}${fma((i) => `a${i}[${j}]`)}  }\n`;
      }
      loop += `  ${endFor}`;
    } else {
      loop = `  ${forRange("k", "kBegin", "kEnd", "1u")}${bRow("k")}` +
        fma((i) => `A[ra${i} + k * P[9]]`) + `  ${endFor}`;
    }
    let acc = "";
    for (let i = 0; i < 4; i++) {
      acc += `  var l${i} = ${vt}(${t}(0));\n  var h${i} = ${vt}(${t}(0));\n`;
    }
    let store = "";
    for (let i = 0; i < 4; i++) {
      const row = `(m + ${i}u)`;
      if (v.vecOut) {
        store += `  if (${row} < M) {\n    let at = (orow + ${row} * N + n) / 4u;\n` +
          `    if (n < N) { Y[at] = l${i}; }\n    if (n + 4u < N) { Y[at + 1u] = h${i}; }\n  }\n`;
      } else {
        for (let j = 0; j < 8; j++) {
          const val = j < 4 ? `l${i}[${j}]` : `h${i}[${j - 4}]`;
          store += storeOne(v, row, `(n + ${j}u)`, val);
        }
      }
    }
    const body = `${locate(v, "gid")}  if (split >= P[13]) { return; }
  let m = tm * 4u;
  let n = tn * 8u;
${setup}${acc}${loop}${store}`;
    return bindings(v) + entry(64, body);
  };
  return { key: keyOf("register", v), code };
}

/** The kernel of `matmul` on `[a, b]` with identical batch dims (views of any strides). */
export function matmul(
  ctx: GpuContext,
  [a, b]: readonly GpuArray[],
  _params: Params,
  out: Aval,
): GpuArray {
  return product(ctx, a, b, out, null)[0];
}

/**
 * Whether a product of these types gets its epilogue in its own kernel: a 2-D float32 product
 * whose k is short enough not to be split across workgroups (see {@linkcode matmul}).
 */
export function epilogueFits(
  ctx: GpuContext,
  a: { shape: readonly number[] },
  b: { shape: readonly number[] },
  out: { dtype: DType },
): boolean {
  if (out.dtype !== "float32" || a.shape.length !== 2 || b.shape.length !== 2) return false;
  const [M, K] = a.shape, N = b.shape[1];
  return K > 0 && M * N > 0 && splitK(ctx, M, N, 1, K).splits === 1;
}

/**
 * The product `a · b` with `epilogue` applied to each result: the chain's outputs, from one
 * kernel where {@linkcode epilogueFits} and the bindings allow, else the product and then the
 * chain as an elementwise kernel.
 */
export function matmulWithEpilogue(
  ctx: GpuContext,
  a: GpuArray,
  b: GpuArray,
  out: Aval,
  epilogue: Epilogue,
): GpuArray[] {
  const bindings = 1 + 2 + epilogue.inputs.length + epilogue.dtypes.length;
  const fits = epilogueFits(ctx, a, b, out) &&
    bindings <= ctx.device.limits.maxStorageBuffersPerShaderStage;
  if (fits) return product(ctx, a, b, out, epilogue);
  const p = product(ctx, a, b, out, null)[0];
  const fn = { name: epilogue.name, body: epilogue.body };
  const outs = mapMany(ctx, fn, [p, ...epilogue.inputs], out.shape, epilogue.dtypes);
  p.release();
  return outs;
}

// How many ways k is split (split-K): enough parallel work to fill the device when the output
// alone gives too little, and no thread looping more than 16384 times along k (llvmpipe ends
// loops at 65535 in all).
function splitK(
  ctx: GpuContext,
  M: number,
  N: number,
  nb: number,
  K: number,
): { splits: number; chunk: number } {
  const shared = ctx.useWorkgroupMemory;
  const tilesM = Math.ceil(M / (shared ? TILE : 4));
  const tilesN = Math.ceil(N / (shared ? TILE : 8));
  const work = tilesM * tilesN * nb * (shared ? 256 : 1);
  let splits = 1;
  if (work < 8192 && K >= 1024) {
    splits = Math.max(1, Math.min(32, Math.floor(K / 256), Math.floor(32768 / work)));
  }
  splits = Math.max(splits, Math.ceil(K / 16384));
  const chunk = Math.ceil(K / splits / TK) * TK;
  return { splits: Math.ceil(K / chunk), chunk };
}

// The product, or with an epilogue (where it fits) the epilogue's outputs.
function product(
  ctx: GpuContext,
  a: GpuArray,
  b: GpuArray,
  out: Aval,
  epilogue: Epilogue | null,
): GpuArray[] {
  if (out.dtype === "bool") throw new TypeError("webgpu backend: matmul of bool is not supported");
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = a.shape[ra - 2];
  const K = a.shape[ra - 1];
  const N = b.shape[rb - 1];
  const batchShape = out.shape.slice(0, -2);
  const t = wgslType(out.dtype);
  if (K === 0) return [fill(ctx, out.shape, out.dtype, 0)];
  const o = ctx.alloc(out.shape, out.dtype);
  if (o.size === 0) return [o];
  const shared = ctx.useWorkgroupMemory;
  const batch = collapse(batchShape, [a.strides.slice(0, ra - 2), b.strides.slice(0, rb - 2)]);
  const nb = batchShape.reduce((x, y) => x * y, 1);
  const tilesM = Math.ceil(M / (shared ? TILE : 4));
  const tilesN = Math.ceil(N / (shared ? TILE : 8));
  const { splits, chunk } = splitK(ctx, M, N, nb, K);

  const sam = a.strides[ra - 2], sak = a.strides[ra - 1];
  const sbk = b.strides[rb - 2], sbn = b.strides[rb - 1];
  const accA = access(sam, sak, M, K, a.offset, batch.strides[0]);
  const accB = access(sbn, sbk, N, K, b.offset, batch.strides[1]);
  const br = batch.shape.length;
  const params = [M, N, K, tilesM, tilesN, nb, chunk, a.offset, sam, sak, b.offset, sbk, sbn];
  params.push(splits, ...stridesOf(batch.shape).slice(0, Math.max(0, br - 1)));
  const aBatchAt = params.length;
  params.push(...batch.strides[0]);
  const bBatchAt = params.length;
  params.push(...batch.strides[1]);
  const v: Variant = {
    t,
    br,
    // The register kernel reads A in vec4s along k only, and B in vec4s along n only.
    accA: shared ? accA : { quad: "k", vec: accA.quad === "k" && accA.vec },
    accB: shared ? accB : { quad: "mn", vec: accB.quad === "mn" && accB.vec },
    checked: M % TILE !== 0 || N % TILE !== 0 || K % TK !== 0,
    vecOut: N % 4 === 0,
    aBatchAt,
    bBatchAt,
  };
  if (!shared) v.checked = false;
  let inputs = [a.buffer, b.buffer];
  if (epilogue !== null) {
    // (Only where `epilogueFits`: one split, no batch.)
    v.ep = { epilogue, at: params.length };
    v.vecOut = false;
    for (const x of epilogue.inputs) params.push(x.offset, x.strides[0], x.strides[1]);
    inputs = [...inputs, ...epilogue.inputs.map((x) => x.buffer)];
  }
  const spec = shared ? sharedKernel(v) : registerKernel(v);
  const tiles = tilesM * tilesN * nb * splits;
  const groups = shared ? tiles : Math.ceil(tiles / 64);
  const total = nb * M * N;
  if (epilogue !== null) {
    o.release();
    const outs = epilogue.dtypes.map((d) => ctx.alloc(out.shape, d));
    ctx.dispatch(spec, inputs, outs.map((y) => y.buffer), params, groups);
    return outs;
  }
  const target = splits === 1 ? o : ctx.alloc([splits * total], out.dtype);
  ctx.dispatch(spec, inputs, [target.buffer], params, groups);
  if (splits > 1) {
    sumSplits(ctx, target, o, splits, total, t);
    target.release();
  }
  return [o];
}

/** `out[i] = Σ_s part[s * total + i]`, in increasing `s`: the deterministic split-K sum. */
function sumSplits(
  ctx: GpuContext,
  part: GpuArray,
  out: GpuArray,
  splits: number,
  total: number,
  t: string,
): void {
  const code = () =>
    header([{ name: "X", type: t }], [{ name: "Y", type: t }]) +
    entry(
      256,
      `  if (gid >= P[0]) { return; }
  var acc = ${t}(0);
  for (var s = 0u; s < P[1]; s++) { acc += X[s * P[0] + gid]; }
  Y[gid] = acc;
`,
    );
  ctx.dispatch(
    { key: `splitk:${t}`, code },
    [part.buffer],
    [out.buffer],
    [total, splits],
    Math.ceil(total / 256),
  );
}
