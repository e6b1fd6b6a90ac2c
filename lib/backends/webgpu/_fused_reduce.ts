/**
 * Fused reductions on the GPU: a chain of elementwise primitives ending in `reduceSum`,
 * `reduceMax` or `reduceMin` (a cross-entropy's masked sum, a bias gradient) becomes one kernel
 * in which each thread computes one output, walking its reduced elements, reading every input
 * there, computing the chain and combining its value: the chain's values never reach memory.
 *
 * Only reductions that run as one thread per output anyway are fused (short ones, or many
 * outputs; see `threadPerOutput`), so a fused reduction is never slower than the two kernels it
 * replaces. Values of the chain that the program also uses elsewhere are written by the same
 * kernel, each by the thread that computes it.
 *
 * @module
 */

import type { Aval, FusedSpec, Params } from "../../core/backend.ts";
import { sizeOf } from "../../core/shape.ts";
import { type GpuArray, stridesOf } from "./_array.ts";
import type { GpuContext } from "./_context.ts";
import { fusedFn } from "./_fused.ts";
import { reducer, threadPerOutput, WG } from "./_reduce.ts";
import { coords, endFor, entry, forRange, header, HELPERS, wgslType } from "./_wgsl.ts";

const REDUCTIONS = new Set(["reduceSum", "reduceMax", "reduceMin"]);

/**
 * Whether the GPU takes a reduction of `arg` over `params.axes` as the root of a fused chain:
 * a float32 sum, maximum or minimum over some axes that runs as one thread per output.
 *
 * @example
 * ```ts
 * import { fusibleReductionOnGpu } from "./_fused_reduce.ts";
 * import type { GpuContext } from "./_context.ts";
 * import assert from "node:assert/strict";
 * const ctx = { useWorkgroupMemory: false } as GpuContext;
 * const arg = { shape: [300, 3], dtype: "float32", device: "webgpu" } as const;
 * const out = { shape: [300], dtype: "float32", device: "webgpu" } as const;
 * assert.ok(fusibleReductionOnGpu(ctx, "reduceSum", arg, out, { axes: [1] }));
 * assert.ok(!fusibleReductionOnGpu(ctx, "reduceProd", arg, out, { axes: [1] }));
 * ```
 */
export function fusibleReductionOnGpu(
  ctx: GpuContext,
  name: string,
  arg: Aval,
  out: Aval,
  params: Params,
): boolean {
  if (!REDUCTIONS.has(name) || arg.dtype !== "float32" || out.dtype !== "float32") return false;
  const axes = params.axes as readonly number[];
  const n = sizeOf(axes.map((d) => arg.shape[d]));
  return axes.length > 0 && n > 0 && threadPerOutput(ctx, sizeOf(out.shape), n);
}

/**
 * Compiles `spec`, a chain ending in a reduction that {@linkcode fusibleReductionOnGpu}
 * accepted, into one kernel from input arrays to its outputs, the reduction's last: the
 * chain's other outputs (values the program also uses elsewhere, of the reduction operand's
 * shape) are written where each thread computes them. The kernel binds every input and output.
 */
export function fusedReduction(
  ctx: GpuContext,
  spec: FusedSpec,
): (xs: readonly GpuArray[]) => GpuArray[] {
  const nIn = spec.inputs.length;
  const root = spec.ops[spec.ops.length - 1];
  const others = spec.outputs.slice(0, -1);
  const prologue = { inputs: spec.inputs, ops: spec.ops.slice(0, -1), outputs: [] };
  const chain = fusedFn(prologue, [...others, root.args[0] - nIn]);
  const shape = spec.inputs[0].shape;
  const dense = stridesOf(shape);
  const axes = root.params.axes as readonly number[];
  const kept = shape.map((_, d) => d).filter((d) => !axes.includes(d));
  const keptShape = kept.map((d) => shape[d]);
  const outer = sizeOf(keptShape);
  const r = reducer(root.name, root.out.dtype);
  const inTypes = spec.inputs.map((a) => wgslType(a.dtype));
  const outTypes = others.map((k) => wgslType(spec.ops[k].out.dtype));
  // P: [outer, the kept shape's dense strides (but the last), per input: offset, strides along
  // the kept axes, strides along the reduced axes; the reduced shape; the operand's dense
  // strides along the kept, then the reduced axes (where the other outputs are written)].
  const head = [outer, ...stridesOf(keptShape).slice(0, Math.max(0, kept.length - 1))];
  const inAt = inTypes.map((_, j) => head.length + j * (1 + shape.length));
  const redAt = head.length + nIn * (1 + shape.length);
  const denseAt = redAt + axes.length;
  const tail = [
    ...axes.map((d) => shape[d]),
    ...kept.map((d) => dense[d]),
    ...axes.map((d) => dense[d]),
  ];
  const key =
    `fusedReduce:${chain.name}:${r.init}:${inTypes}>${outTypes}:${kept.length}:${axes.length}`;
  // The element at kept coordinates c* and reduced coordinates k* of a view whose offset is
  // P[at], followed by its strides along the kept, then the reduced axes.
  const index = (at: number) => {
    let s = `P[${at}]`;
    kept.forEach((_, d) => (s += ` + c${d} * P[${at + 1 + d}]`));
    axes.forEach((_, d) => (s += ` + k${d} * P[${at + 1 + kept.length + d}]`));
    return s;
  };
  const code = () => {
    const reads = inTypes.map((_, j) => `    let a${j} = X${j}[${index(inAt[j])}];\n`).join("");
    const { lets, results } = chain.body(inTypes.map((_, j) => `a${j}`));
    // The other outputs are dense: element (c*, k*) is at Σ c·P[denseAt..] + Σ k·P[...].
    const terms = [
      ...kept.map((_, d) => `c${d} * P[${denseAt + d}]`),
      ...axes.map((_, d) => `k${d} * P[${denseAt + kept.length + d}]`),
    ];
    const writes = others.length === 0 ? "" : `    let e = ${terms.join(" + ")};\n` +
      others.map((_, k) => `    Z${k}[e] = ${results[k]};\n`).join("");
    let loops = "", close = "";
    axes.forEach((_, d) => {
      loops += `  ${forRange(`k${d}`, "0u", `P[${redAt + d}]`, "1u")}`;
      close += `  ${endFor}`;
    });
    const body = `  if (gid >= P[0]) { return; }\n${coords("gid", kept.length, 1, "c")}` +
      `  var acc = ${r.init};\n` + loops + reads + lets + writes +
      `    acc = ${r.comb("acc", results[others.length])};\n` + close + `  Y[gid] = acc;\n`;
    const inputs = inTypes.map((type, j) => ({ name: `X${j}`, type }));
    const outputs = [...outTypes.map((type, k) => ({ name: `Z${k}`, type })), {
      name: "Y",
      type: "f32",
    }];
    return header(inputs, outputs) + HELPERS + entry(WG, body);
  };
  return (xs) => {
    const extras = others.map((k) => ctx.alloc(shape, spec.ops[k].out.dtype));
    const out = ctx.alloc(root.out.shape, root.out.dtype);
    if (outer > 0) {
      const params = [...head];
      for (const x of xs) {
        params.push(x.offset, ...kept.map((d) => x.strides[d]), ...axes.map((d) => x.strides[d]));
      }
      params.push(...tail);
      const targets = [...extras, out].map((a) => a.buffer);
      ctx.dispatch({ key, code }, xs.map((x) => x.buffer), targets, params, Math.ceil(outer / WG));
    }
    return [...extras, out];
  };
}
