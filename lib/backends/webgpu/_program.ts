/**
 * A whole small program as one dispatch of one workgroup. On a software adapter (llvmpipe,
 * SwiftShader: a CPU running the shaders) every dispatch has a fixed cost of tens of
 * microseconds, far above the work of a small training step's kernels, and a kernel's
 * workgroups run on a few CPU threads anyway. So a jitted program whose every value is small
 * becomes a single kernel: one workgroup walks the program's operations in order, its threads
 * sharing each operation's elements, with a storage barrier between operations.
 *
 * Values live where they are needed: the program's inputs in their buffers (one binding per
 * buffer, however many inputs view it), its outputs in new buffers, its other intermediates in
 * a scratch buffer the program keeps, and views (reshape, broadcast, transpose, slice)
 * nowhere: a view is read through its index map from the value it views. An elementwise value
 * read once is computed where it is read. Every array is bound as u32 words, so that inputs
 * of different dtypes can share a buffer.
 *
 * @module
 */

import type { Aval, FusedSpec } from "../../core/backend.ts";
import type { DType } from "../../core/dtype.ts";
import { type Shape, sizeOf, stridesOf } from "../../core/shape.ts";
import type { GpuArray } from "./_array.ts";
import type { GpuContext, KernelSpec } from "./_context.ts";
import { fusedOpFn, fusibleOnGpu } from "./_fused.ts";
import { reducer } from "./_reduce.ts";
import { constExpr, endFor, forRange, header, HELPERS, wgslType } from "./_wgsl.ts";

/** Threads of the one workgroup. */
const WG = 64;

/**
 * The most work (elements computed, plus multiply-adds of products and elements reduced) a
 * program may have to run as one workgroup: about a millisecond on one CPU thread, the cost
 * of some twenty dispatches.
 */
export const PROGRAM_WORK_LIMIT = 1 << 18;

/** How a value is read: the WGSL expression of its element at a linear index expression. */
type Reader = (index: string) => string;

/** A value that memory holds: where, and how to write an element of it. */
interface Stored {
  read: Reader;
  write: (index: string, value: string) => string;
}

const VIEWS = new Set(["reshape", "broadcast", "transpose", "slice", "stopGradient"]);
const REDUCTIONS = new Set(["reduceSum", "reduceMax", "reduceMin", "reduceProd"]);

/** Whether one workgroup can run this operation (views, elementwise, products, reductions). */
function supported(op: FusedSpec["ops"][number], args: readonly Aval[]): boolean {
  const { name, out } = op;
  if (VIEWS.has(name)) return true;
  if (name === "matmul") return out.dtype === "float32" || out.dtype === "int32";
  if (REDUCTIONS.has(name)) return true;
  if (name === "softmax" || name === "logSoftmax") return out.dtype === "float32";
  if (!fusibleOnGpu(name, args, out)) return false;
  // Elementwise operands have the result's shape, or hold one value.
  return args.every((a) => sizeOf(a.shape) === 1 || sameShape(a.shape, out.shape));
}

const sameShape = (a: Shape, b: Shape) => a.length === b.length && a.every((d, i) => d === b[i]);

/** The work of an operation, in elements touched (see {@linkcode PROGRAM_WORK_LIMIT}). */
function workOf(op: FusedSpec["ops"][number], args: readonly Aval[]): number {
  const n = sizeOf(op.out.shape);
  if (VIEWS.has(op.name)) return 0;
  if (op.name === "matmul") return n * args[0].shape[args[0].shape.length - 1];
  if (REDUCTIONS.has(op.name)) return sizeOf(args[0].shape);
  if (op.name === "softmax" || op.name === "logSoftmax") return 3 * n;
  return n;
}

/** `u32` literal. */
const u = (n: number) => `${n}u`;

/**
 * The index into a row-major array of `from` of the element at linear index `index` of a view
 * with shape `shape`, offset `offset` and strides `strides` (over `from`'s dense layout).
 */
function viewIndex(index: string, shape: Shape, strides: readonly number[], offset: number) {
  const dense = stridesOf(shape);
  const terms: string[] = offset === 0 ? [] : [u(offset)];
  shape.forEach((dim, d) => {
    if (dim === 1 || strides[d] === 0) return;
    let c = dense[d] === 1 ? `(${index})` : `((${index}) / ${u(dense[d])})`;
    if (d > 0) c = `(${c} % ${u(dim)})`;
    terms.push(strides[d] === 1 ? c : `${c} * ${u(strides[d])}`);
  });
  return terms.length === 0 ? "0u" : terms.join(" + ");
}

/** The strides and offset of a view op's result over its operand's dense layout. */
function viewOf(
  name: string,
  params: FusedSpec["ops"][number]["params"],
  src: Shape,
  out: Shape,
): { strides: number[]; offset: number } {
  const s = stridesOf(src);
  if (name === "transpose") {
    return { strides: (params.perm as number[]).map((p) => s[p]), offset: 0 };
  }
  if (name === "broadcast") {
    const lead = out.length - src.length;
    return {
      strides: out.map((_, d) => (d < lead || src[d - lead] === 1 ? 0 : s[d - lead])),
      offset: 0,
    };
  }
  // slice
  const begin = params.begin as number[];
  return { strides: s, offset: begin.reduce((a, b, d) => a + b * s[d], 0) };
}

/** A word of a `u32` array read as a value of `dtype` (bool is stored as 0/1). */
function load(dtype: DType, word: string): string {
  return dtype === "bool" ? word : `bitcast<${wgslType(dtype)}>(${word})`;
}

/** A value of `dtype` as the word that stores it. */
function bits(dtype: DType, value: string): string {
  return dtype === "bool" ? value : `bitcast<u32>(${value})`;
}

/**
 * How a kernel reads an input: dense from an offset (`c`), one value from its buffer (`s`),
 * one value known on the CPU and passed in the parameters, with no binding (`k`: a broadcast
 * scalar, as the constants of a gradient often are), or through strides in the parameters
 * (`g`).
 */
type Pattern = "c" | "s" | "k" | "g";

function patternOf(x: GpuArray): Pattern {
  if (x.strides.every((s) => s === 0)) return x.storage.bits !== null ? "k" : "s";
  return x.contiguous ? "c" : "g";
}

/** An input's parameters: its one value's bits, or its offset (and strides, when strided). */
function paramsOf(x: GpuArray, pattern: Pattern): readonly number[] {
  if (pattern === "k") return [x.storage.bits!];
  return pattern === "g" ? [x.offset, ...x.strides] : [x.offset];
}

/** How one call binds its inputs: each one's pattern and binding (-1 for none). */
interface Layout {
  readonly patterns: readonly Pattern[];
  readonly slots: readonly number[];
  /** The distinct buffers bound, in binding order. */
  readonly buffers: readonly GPUBuffer[];
}

// Inputs that share a buffer (the outputs of one earlier call, a tensor and its views) share
// one binding, each read at its own offset.
function layoutOf(xs: readonly GpuArray[]): Layout {
  const patterns = xs.map(patternOf);
  const buffers: GPUBuffer[] = [];
  const slots = xs.map((x, k) => {
    if (patterns[k] === "k") return -1;
    const at = buffers.indexOf(x.buffer);
    return at >= 0 ? at : buffers.push(x.buffer) - 1;
  });
  return { patterns, slots, buffers };
}

/** The kernel for one layout of the inputs, with the bindings it takes. */
interface Variant {
  readonly kernel: KernelSpec;
  /** Storage bindings: parameters, inputs, outputs and scratch. */
  readonly bindings: number;
  /** Words of scratch memory it needs. */
  readonly words: number;
  /** Its scratch memory, once made. */
  scratch: GPUBuffer | null;
}

/**
 * Where the outputs go: one-element outputs (a loss, a count: values callers keep, step after
 * step) each to a buffer of their own; the others to consecutive regions of one shared buffer,
 * whose storage returns to the pool once all of them are released.
 */
interface Placement {
  /** Per output: its single buffer's index, or -1 when it lies in the shared one. */
  readonly single: readonly number[];
  /** Per output: its element offset in the shared buffer. */
  readonly offset: readonly number[];
  /** Words of the shared buffer (0: none). */
  readonly shared: number;
}

function placementOf(outs: readonly Aval[]): Placement {
  let singles = 0;
  let shared = 0;
  const single: number[] = [];
  const offset: number[] = [];
  for (const a of outs) {
    const n = sizeOf(a.shape);
    single.push(n === 1 ? singles++ : -1);
    offset.push(n === 1 ? 0 : shared);
    if (n !== 1) shared += n;
  }
  return { single, offset, shared };
}

/**
 * The runner of all of `spec` as one workgroup, or `null` when an operation is not one it
 * runs or the work is over {@linkcode PROGRAM_WORK_LIMIT}. A call whose inputs would need more
 * than `maxBindings` storage bindings has its contiguous inputs gathered into one buffer
 * first; where even that is too many, it runs the operations one by one through `runOp`.
 */
export function programKernel(
  ctx: GpuContext,
  spec: FusedSpec,
  maxBindings: number,
  runOp: (op: FusedSpec["ops"][number], args: readonly GpuArray[]) => GpuArray,
): ((inputs: readonly GpuArray[]) => GpuArray[]) | null {
  const avals: Aval[] = [...spec.inputs, ...spec.ops.map((op) => op.out)];
  let work = 0;
  for (const op of spec.ops) {
    const args = op.args.map((a) => avals[a]);
    if (!supported(op, args) || sizeOf(op.out.shape) === 0) return null;
    work += workOf(op, args);
  }
  if (work > PROGRAM_WORK_LIMIT) return null;
  const outAvals = spec.outputs.map((j) => spec.ops[j].out);
  const placement = placementOf(outAvals);
  const variants = new Map<string, Variant>();
  const variantOf = (layout: Layout) => {
    const key = layout.patterns.join("") + layout.slots.join();
    let variant = variants.get(key);
    if (variant === undefined) {
      variant = generate(spec, avals, layout, placement);
      variants.set(key, variant);
    }
    return variant;
  };
  const dispatchProgram = (variant: Variant, xs: readonly GpuArray[], layout: Layout) => {
    const shared = placement.shared > 0 ? ctx.alloc([placement.shared], "int32") : null;
    const results = outAvals.map((a, k) =>
      placement.single[k] >= 0
        ? ctx.alloc(a.shape, a.dtype)
        : shared!.view(a.shape, stridesOf(a.shape), placement.offset[k], a.dtype)
    );
    shared?.release();
    // The program's own scratch memory, kept across calls: the queue runs one call's
    // dispatch after the last's, and a bind group of unchanging buffers is made once.
    variant.scratch ??= ctx.device.createBuffer({
      size: variant.words * 4,
      usage: GPUBufferUsage.STORAGE,
    });
    const outBuffers = results.filter((_, k) => placement.single[k] >= 0).map((r) => r.buffer);
    if (shared !== null) outBuffers.push(shared.buffer);
    outBuffers.push(variant.scratch);
    const params = xs.flatMap((x, k) => paramsOf(x, layout.patterns[k]));
    ctx.dispatch(variant.kernel, layout.buffers, outBuffers, params, 1);
    return results;
  };
  return (given) => {
    let xs = given;
    let layout = layoutOf(xs);
    let variant = variantOf(layout);
    // Inputs in too many buffers (a first call's separate tensors) are gathered into one; the
    // outputs share one buffer, so the next call binds them once again.
    const gathered = variant.bindings > maxBindings ? gatherInputs(ctx, xs, layout) : null;
    if (gathered !== null) {
      xs = gathered.xs;
      layout = layoutOf(xs);
      variant = variantOf(layout);
    }
    try {
      if (variant.bindings > maxBindings) return opByOp(spec, given, runOp);
      return dispatchProgram(variant, xs, layout);
    } finally {
      for (const v of gathered?.views ?? []) v.release();
    }
  };
}

// The inputs with every bound contiguous one replaced by its view in one gathered buffer (and
// those views, for the caller to release once the kernel is recorded).
function gatherInputs(
  ctx: GpuContext,
  xs: readonly GpuArray[],
  layout: Layout,
): { xs: GpuArray[]; views: GpuArray[] } {
  const picked = layout.patterns.flatMap((pattern, k) => (pattern === "c" ? [k] : []));
  const views = ctx.gather(picked.map((k) => xs[k]));
  const out = [...xs];
  picked.forEach((k, i) => (out[k] = views[i]));
  return { xs: out, views };
}

// The operations run one by one (when one kernel would need too many bindings).
function opByOp(
  spec: FusedSpec,
  inputs: readonly GpuArray[],
  runOp: (op: FusedSpec["ops"][number], args: readonly GpuArray[]) => GpuArray,
): GpuArray[] {
  const values = [...inputs];
  for (const op of spec.ops) values.push(runOp(op, op.args.map((a) => values[a])));
  const first = inputs.length;
  const kept = new Set(spec.outputs.map((j) => first + j));
  for (let v = first; v < values.length; v++) if (!kept.has(v)) values[v].release();
  return spec.outputs.map((j) => values[first + j]);
}

// The kernel of `spec` for inputs bound as `layout` and outputs placed as `placement`.
function generate(
  spec: FusedSpec,
  avals: readonly Aval[],
  layout: Layout,
  placement: Placement,
): Variant {
  const first = spec.inputs.length;
  const outputs = spec.outputs;
  const { patterns, slots } = layout;
  let at = 0;
  const readers: Reader[] = spec.inputs.map((a, k) => {
    const p = at;
    at += patterns[k] === "g" ? 1 + a.shape.length : 1;
    if (patterns[k] === "k") return () => constExpr(p, a.dtype);
    const name = `I${slots[k]}`;
    if (patterns[k] === "s") return () => load(a.dtype, `${name}[P[${p}]]`);
    if (patterns[k] === "c") return (i) => load(a.dtype, `${name}[P[${p}] + ${i}]`);
    const dense = stridesOf(a.shape);
    return (i) => {
      let index = `P[${p}]`;
      a.shape.forEach((dim, d) => {
        if (dim === 1) return;
        const c = d === 0 ? `(${i}) / ${u(dense[d])}` : `((${i}) / ${u(dense[d])}) % ${u(dim)}`;
        index += ` + (${c}) * P[${p + 1 + d}]`;
      });
      return load(a.dtype, `${name}[${index}]`);
    };
  });
  const inputs = layout.buffers.map((_, b) => ({ name: `I${b}`, type: "u32" }));
  let scratch = 0;
  let body = "";
  const isOutput = new Map(outputs.map((j, k) => [j, k]));
  // Where op `j`'s value is stored: its output's buffer, or words of scratch.
  const store = (j: number): Stored => {
    const { dtype, shape } = spec.ops[j].out;
    const k = isOutput.get(j);
    let word: (i: string) => string;
    if (k !== undefined && placement.single[k] >= 0) word = (i) => `O${placement.single[k]}[${i}]`;
    else if (k !== undefined) word = (i) => `J[${u(placement.offset[k])} + ${i}]`;
    else {
      const at = scratch;
      scratch += sizeOf(shape);
      word = (i) => `S[${u(at)} + ${i}]`;
    }
    return {
      read: (i) => load(dtype, word(i)),
      write: (i, v) => `${word(i)} = ${bits(dtype, v)};`,
    };
  };
  // An elementwise value read once, by an elementwise operation or a reduction (which read
  // each element once), is computed where it is read rather than stored.
  const readersOf = spec.ops.map(() => [] as number[]);
  spec.ops.forEach((op, j) => op.args.forEach((a) => a >= first && readersOf[a - first].push(j)));
  const elementwise = (j: number) => {
    const { name } = spec.ops[j];
    return !VIEWS.has(name) && name !== "matmul" && !REDUCTIONS.has(name) &&
      name !== "softmax" && name !== "logSoftmax";
  };
  const inlined = (j: number) => {
    const users = readersOf[j];
    if (isOutput.has(j) || users.length !== 1) return false;
    const user = spec.ops[users[0]];
    return (elementwise(users[0]) && sameShape(user.out.shape, spec.ops[j].out.shape)) ||
      REDUCTIONS.has(user.name);
  };
  // One pass over the `n` elements of a value, its threads striding, then a barrier.
  const phase = (n: number, statements: string) => {
    body += `  for (var i = lid; i < ${u(n)}; i += ${u(WG)}) {\n${statements}  }\n` +
      "  storageBarrier();\n";
  };

  spec.ops.forEach((op, j) => {
    const args = op.args.map((a) => readers[a]);
    const argAvals = op.args.map((a) => avals[a]);
    const n = sizeOf(op.out.shape);
    const { name, params, out } = op;
    if (VIEWS.has(name)) {
      const [x] = args;
      let read: Reader = x;
      if (name !== "reshape" && name !== "stopGradient") {
        const { strides, offset } = viewOf(name, params, argAvals[0].shape, out.shape);
        read = (i) => x(viewIndex(i, out.shape, strides, offset));
      }
      if (!isOutput.has(j)) {
        readers.push(read);
        return;
      }
      const s = store(j);
      phase(n, `    ${s.write("i", read("i"))}\n`);
      readers.push(s.read);
      return;
    }
    if (name === "matmul") {
      const s = store(j);
      readers.push(s.read);
      const [a, b] = argAvals;
      const k = a.shape[a.shape.length - 1];
      const m = a.shape[a.shape.length - 2];
      const cols = b.shape[b.shape.length - 1];
      const t = wgslType(out.dtype);
      phase(
        n,
        `    let col = i % ${u(cols)};
    let row = i / ${u(cols)};
    let a0 = row * ${u(k)};
    let b0 = (row / ${u(m)}) * ${u(k * cols)} + col;
    var acc = ${t}(0);
    ${forRange("k", "0u", u(k), "1u")}
      acc = acc + ${args[0]("a0 + k")} * ${args[1](`b0 + k * ${u(cols)}`)};
    ${endFor}    ${s.write("i", "acc")}\n`,
      );
      return;
    }
    if (REDUCTIONS.has(name)) {
      const s = store(j);
      readers.push(s.read);
      const x = argAvals[0];
      const axes = params.axes as number[];
      const xs = stridesOf(x.shape);
      const kept = x.shape.map((_, d) => d).filter((d) => !axes.includes(d));
      const keptShape = kept.map((d) => x.shape[d]);
      const redShape = axes.map((d) => x.shape[d]);
      const base = viewIndex("i", keptShape, kept.map((d) => xs[d]), 0);
      const offset = viewIndex("r", redShape, axes.map((d) => xs[d]), 0);
      const { init, comb } = reducer(name, out.dtype);
      phase(
        n,
        `    let x0 = ${base};
    var acc = ${init};
    ${forRange("r", "0u", u(sizeOf(redShape)), "1u")}
      acc = ${comb("acc", args[0](`x0 + ${offset}`))};
    ${endFor}    ${s.write("i", "acc")}\n`,
      );
      return;
    }
    if (name === "softmax" || name === "logSoftmax") {
      const s = store(j);
      readers.push(s.read);
      const shape = out.shape;
      const axis = params.axis as number;
      const len = shape[axis];
      const inner = sizeOf(shape.slice(axis + 1));
      const x = (e: string) => args[0](e);
      const at = (k: string) => `x0 + ${k} * ${u(inner)}`;
      const NEG_INF = "bitcast<f32>(0xff800000u)";
      const result = name === "logSoftmax"
        ? `${x(at("k"))} - m - select(log(sum), nan_(), m == ${NEG_INF})`
        : `exp(${x(at("k"))} - m) * select(1.0 / sum, nan_(), m == ${NEG_INF})`;
      const write = s.write(at("k"), result);
      body += `  for (var i = lid; i < ${u(n / len)}; i += ${u(WG)}) {
    let x0 = (i / ${u(inner)}) * ${u(len * inner)} + i % ${u(inner)};
    var m = ${NEG_INF};
    ${forRange("k", "0u", u(len), "1u")} m = fmax_(m, ${x(at("k"))}); ${endFor}
    var sum = 0.0;
    ${forRange("k", "0u", u(len), "1u")} sum = sum + exp(${x(at("k"))} - m); ${endFor}
    ${forRange("k", "0u", u(len), "1u")} ${write} ${endFor}  }
  storageBarrier();\n`;
      return;
    }
    const fn = fusedOpFn(op, argAvals);
    const value: Reader = (i) =>
      `(${fn.expr(args.map((read, a) => read(sizeOf(argAvals[a].shape) === 1 ? "0u" : i)), 0)})`;
    if (inlined(j)) {
      readers.push(value);
      return;
    }
    const s = store(j);
    readers.push(s.read);
    phase(n, `    ${s.write("i", value("i"))}\n`);
  });

  const outs = placement.single.filter((b) => b >= 0).map((b) => ({ name: `O${b}`, type: "u32" }));
  if (placement.shared > 0) outs.push({ name: "J", type: "u32" });
  outs.push({ name: "S", type: "u32" });
  const code = header(inputs, outs) + HELPERS +
    `@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  _ = P[0];
${body}}
`;
  return {
    kernel: { key: `program:${code}`, code: () => code },
    bindings: 1 + inputs.length + outs.length,
    words: Math.max(1, scratch),
    scratch: null,
  };
}
