/**
 * The WebGPU backend: tensors in GPU buffers, WGSL kernels generated per variant and cached
 * as pipelines, work recorded synchronously and submitted in batches, and only reads awaiting.
 * Importing this module registers an initializer with the core; `await setDevice("webgpu")`
 * (or `initBackend("webgpu")`) runs it once, and rejects with an Error that says why when
 * there is no `navigator.gpu` or no adapter.
 *
 * Every dtype but float64 runs here (bool is stored as u32 0/1). Buffers are strided views over
 * reference-counted storage from a size-bucketed pool; the core disposes the buffer of every
 * collected or `dispose()`d tensor, which returns storage to the pool once no view uses it.
 *
 * @example
 * ```ts
 * import * as nb from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const adapter = await navigator.gpu?.requestAdapter();
 * if (adapter) {
 *   await nb.setDevice("webgpu"); // new tensors now live on the GPU
 *   try {
 *     const x = nb.tensor([[1, 2], [3, 4]]);
 *     const y = x.matmul(x).add(1); // enqueued at once, nothing waits
 *     assert.equal(y.device, "webgpu");
 *     assert.deepEqual(await y.toArray(), [[8, 11], [16, 23]]); // only reading awaits
 *   } finally {
 *     await nb.setDevice("cpu");
 *   }
 * }
 * ```
 *
 * @module
 */

import {
  type Aval,
  type Backend,
  forgetBackend,
  type FusedSpec,
  type Params,
  registerBackendInitializer,
} from "../../core/backend.ts";
import { dtypeOfArray, type TypedArray } from "../../core/dtype.ts";
import { type Shape, sizeOf } from "../../core/shape.ts";
import { GpuArray } from "./_array.ts";
import { GpuContext } from "./_context.ts";
import { binaryFn, compareFn, convertFn, SELECT, unaryFn } from "./_elementwise.ts";
import { epilogueOf, fusedFn, fusibleOnGpu } from "./_fused.ts";
import { fusedReduction, fusibleReductionOnGpu } from "./_fused_reduce.ts";
import { gather, iota, scatterAdd } from "./_indexing.ts";
import { COPY, map, mapMany } from "./_map.ts";
import { epilogueFits, matmul, matmulWithEpilogue } from "./_matmul.ts";
import { programKernel } from "./_program.ts";
import { broadcast, concat, pad, reshape, slice, transpose } from "./_movement.ts";
import type { PoolStats } from "./_pool.ts";
import { argReduce, reduce } from "./_reduce.ts";
import { softmax } from "./_softmax.ts";

export type { PoolStats } from "./_pool.ts";

type Kernel = (ctx: GpuContext, inputs: readonly GpuArray[], params: Params, out: Aval) => GpuArray;

const UNARY = ["neg", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "abs", "sign"];
const BINARY = ["add", "sub", "mul", "div", "pow", "max", "min"];
const COMPARE = ["eq", "ne", "lt", "le", "gt", "ge"];
const REDUCE = ["reduceSum", "reduceMax", "reduceMin", "reduceProd"];

const kernels = new Map<string, Kernel>([
  ["select", (ctx, xs, _p, out) => map(ctx, SELECT, xs, out.shape, out.dtype)],
  [
    "convert",
    (ctx, [x], _p, out) =>
      x.dtype === out.dtype
        ? x.view(x.shape, x.strides, x.offset)
        : map(ctx, convertFn(x.dtype, out.dtype), [x], out.shape, out.dtype),
  ],
  // The identity on values: a new view, so that each tensor holds its own reference.
  ["stopGradient", (_ctx, [x]) => x.view(x.shape, x.strides, x.offset)],
  ["argmax", (ctx, xs, p, out) => argReduce(ctx, true, xs, p, out)],
  ["argmin", (ctx, xs, p, out) => argReduce(ctx, false, xs, p, out)],
  ["reshape", reshape],
  ["broadcast", broadcast],
  ["transpose", transpose],
  ["slice", slice],
  ["pad", pad],
  ["concat", concat],
  ["gather", gather],
  ["scatterAdd", scatterAdd],
  ["iota", iota],
  ["matmul", matmul],
  ["softmax", (ctx, xs, p, out) => softmax(ctx, false, xs, p, out)],
  ["logSoftmax", (ctx, xs, p, out) => softmax(ctx, true, xs, p, out)],
]);
for (const name of [...UNARY, "log1p", "expm1"]) {
  kernels.set(
    name,
    (ctx, xs, _p, out) => map(ctx, unaryFn(name, out.dtype), xs, out.shape, out.dtype),
  );
}
for (const name of BINARY) {
  kernels.set(
    name,
    (ctx, xs, _p, out) => map(ctx, binaryFn(name, out.dtype), xs, out.shape, out.dtype),
  );
}
for (const name of COMPARE) {
  kernels.set(
    name,
    (ctx, xs, _p, out) => map(ctx, compareFn(name, xs[0].dtype), xs, out.shape, "bool"),
  );
}
for (const name of REDUCE) {
  kernels.set(name, (ctx, xs, p, out) => reduce(ctx, name, xs, p, out));
}

/**
 * The names of the primitives this backend has kernels for.
 *
 * @example
 * ```ts
 * import { webgpuKernelNames } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.ok(webgpuKernelNames().includes("matmul"));
 * ```
 */
export function webgpuKernelNames(): string[] {
  return [...kernels.keys()];
}

const FLOAT64 = 'webgpu: float64 is CPU-only; use float32 (x.astype("float32")) on the GPU';

function asArray(buffer: unknown): GpuArray {
  if (buffer instanceof GpuArray) {
    if (buffer.released) throw new Error("webgpu backend: buffer was disposed");
    return buffer;
  }
  throw new TypeError("webgpu backend: expected a webgpu buffer");
}

/** The WebGPU backend's interface: `Backend` plus its context and pool counters. */
export interface WebGpuBackend extends Backend {
  /** The device context (for tests and benchmarks). */
  readonly context: GpuContext;
  /** The buffer pool's counters. */
  stats(): PoolStats;
  /** Resolves once all work submitted so far has finished on the GPU. */
  sync(): Promise<void>;
}

/**
 * A backend over a device. The registered backend is made by `setDevice("webgpu")`; tests
 * make their own over a device they may destroy.
 *
 * @example
 * ```ts
 * import { createWebGpuBackend } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const adapter = await navigator.gpu?.requestAdapter();
 * if (adapter) {
 *   const gpu = createWebGpuBackend(await adapter.requestDevice());
 *   const x = gpu.fromArray(new Float32Array([1, -2]), [2]);
 *   const y = gpu.run("abs", [x], {}, { shape: [2], dtype: "float32", device: "webgpu" });
 *   assert.deepEqual([...await gpu.read(y)], [1, 2]);
 *   gpu.context.device.destroy();
 * }
 * ```
 */
export function createWebGpuBackend(device: GPUDevice): WebGpuBackend {
  const ctx = new GpuContext(device);
  // A fused elementwise chain: one kernel writing every output, or as few as the storage
  // bindings allow.
  const elementwise = (spec: FusedSpec) => {
    const room = device.limits.maxStorageBuffersPerShaderStage - 1 - spec.inputs.length;
    const groups: number[][] = [];
    for (let j = 0; j < spec.outputs.length; j += room) {
      groups.push(spec.outputs.slice(j, j + room));
    }
    const kernels = groups.map((outputs) => ({
      fn: fusedFn(spec, outputs),
      dtypes: outputs.map((k) => spec.ops[k].out.dtype),
    }));
    const shape = spec.ops[spec.outputs[0]].out.shape;
    return (xs: readonly GpuArray[]) =>
      kernels.flatMap(({ fn, dtypes }) => mapMany(ctx, fn, xs, shape, dtypes));
  };
  // A product and the elementwise chain after it: one kernel where the product's kernel can
  // take the chain and the bindings suffice, else the product and then the chain.
  const productWithEpilogue = (spec: FusedSpec, head: number) => {
    const { chain, operands, inputs } = epilogueOf(spec, head);
    const product = spec.ops[head];
    const fn = fusedFn(chain);
    const dtypes = chain.outputs.map((k) => chain.ops[k].out.dtype);
    const bindings = 3 + inputs.length + dtypes.length;
    const oneKernel = bindings <= device.limits.maxStorageBuffersPerShaderStage;
    const rest = elementwise(chain);
    return (xs: readonly GpuArray[]) => {
      const [a, b] = operands.map((i) => xs[i]);
      const read = inputs.map((i) => xs[i]);
      if (oneKernel) {
        return matmulWithEpilogue(ctx, a, b, product.out, {
          name: fn.name,
          inputs: read,
          body: fn.body,
          dtypes,
        });
      }
      const p = matmul(ctx, [a, b], product.params, product.out);
      const outs = rest([p, ...read]);
      p.release();
      return outs;
    };
  };
  // Compiled programs running (a loop's body runs inside its program).
  let planning = 0;
  return {
    device: "webgpu",
    // A GPU buffer holds no values on the JS side: it is its own handle.
    collectHandle: (buffer: unknown): unknown => buffer,
    planned<T>(f: () => T): T {
      planning++;
      let result: T;
      try {
        result = f();
      } finally {
        planning--;
      }
      if (planning > 0 || !Array.isArray(result)) return result;
      return result.map((b) => (b instanceof GpuArray ? ctx.detach(b) : b)) as T;
    },
    releaseHandle(handle: unknown): void {
      if (handle instanceof GpuArray) handle.release(true);
    },
    context: ctx,

    fromArray(data: TypedArray, shape: Shape): GpuArray {
      if (data.length !== sizeOf(shape)) {
        throw new RangeError(
          `webgpu backend: ${data.length} values cannot fill shape [${shape.join(",")}]`,
        );
      }
      const dtype = dtypeOfArray(data);
      if (dtype === "float64") throw new TypeError(FLOAT64);
      const words = data instanceof Uint8Array ? Uint32Array.from(data, (v) => (v ? 1 : 0)) : data;
      return ctx.upload(words as Float32Array | Int32Array | Uint32Array, shape.slice(), dtype);
    },

    async read(buffer: unknown): Promise<TypedArray> {
      const a = asArray(buffer);
      if (a.contiguous) return await ctx.read(a);
      const packed = map(ctx, COPY, [a], a.shape, a.dtype);
      try {
        return await ctx.read(packed);
      } finally {
        packed.release();
      }
    },

    readSync(_buffer: unknown): null {
      return null;
    },

    run(name: string, inputs: readonly unknown[], params: Params, out: Aval): GpuArray {
      const kernel = kernels.get(name);
      if (!kernel) throw new Error(`webgpu backend: no kernel for primitive "${name}"`);
      if (out.dtype === "float64") throw new TypeError(FLOAT64);
      ctx.checkAlive();
      const xs = inputs.map(asArray);
      if (xs.some((x) => x.dtype === "float64")) throw new TypeError(FLOAT64);
      return kernel(ctx, xs, params, out);
    },

    dispose(buffer: unknown): void {
      if (buffer instanceof GpuArray) buffer.release();
    },

    fusible: fusibleOnGpu,
    // Storage bindings per stage: the parameters and the output take two.
    maxFusedInputs: device.limits.maxStorageBuffersPerShaderStage - 2,

    fusibleReduction: (name: string, arg: Aval, out: Aval, params: Params): boolean =>
      fusibleReductionOnGpu(ctx, name, arg, out, params),

    fusibleMatmul: (a: Aval, b: Aval, out: Aval): boolean => epilogueFits(ctx, a, b, out),

    compileFused(spec: FusedSpec): ((inputs: readonly unknown[]) => GpuArray[]) | null {
      const root = spec.ops[spec.ops.length - 1];
      let run: (xs: readonly GpuArray[]) => GpuArray[];
      const head = spec.ops.findIndex((op) => op.name === "matmul");
      if (head >= 0) run = productWithEpilogue(spec, head);
      else if (root.name.startsWith("reduce")) {
        // (A reduction is only a root where `fusibleReduction` accepted it, after a chain.)
        if (spec.ops.length === 1 || root.args[0] < spec.inputs.length) return null;
        const bindings = 1 + spec.inputs.length + spec.outputs.length;
        if (bindings <= device.limits.maxStorageBuffersPerShaderStage) {
          run = fusedReduction(ctx, spec);
        } else {
          // Too many for one kernel: the chain's other outputs from a kernel of their own.
          const others = spec.outputs.slice(0, -1);
          const values = elementwise({
            inputs: spec.inputs,
            ops: spec.ops.slice(0, -1),
            outputs: others,
          });
          const reduced = fusedReduction(ctx, { ...spec, outputs: spec.outputs.slice(-1) });
          run = (xs) => [...values(xs), ...reduced(xs)];
        }
      } else run = elementwise(spec);
      return (inputs) => {
        ctx.checkAlive();
        return run(inputs.map(asArray));
      };
    },

    compileProgram(spec: FusedSpec): ((inputs: readonly unknown[]) => GpuArray[]) | null {
      if (!ctx.oneDispatchPrograms) return null;
      const run = programKernel(
        ctx,
        spec,
        device.limits.maxStorageBuffersPerShaderStage,
        (op, args) => kernels.get(op.name)!(ctx, args, op.params, op.out),
      );
      if (run === null) return null;
      return (inputs) => {
        ctx.checkAlive();
        return run(inputs.map(asArray));
      };
    },

    stats: () => ctx.stats(),
    sync: () => ctx.sync(),
  };
}

let active: WebGpuBackend | null = null;

/**
 * The initialized WebGPU backend, or `null` before `setDevice("webgpu")`.
 *
 * @example
 * ```ts
 * import { webgpuBackend } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const gpu = webgpuBackend();
 * assert.ok(gpu === null || gpu.device === "webgpu");
 * ```
 */
export function webgpuBackend(): WebGpuBackend | null {
  return active;
}

/** Rejects after `ms` so that a driver that never answers cannot hang `setDevice`. */
function timeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`setDevice("webgpu"): ${what} timed out`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

/**
 * Requests an adapter and a device from `gpu` (by default `navigator.gpu`; `null` when there is
 * none) and makes a
 * backend, or rejects with an Error that says why (no WebGPU, no adapter, a driver that does
 * not answer). `setDevice("webgpu")` calls it once.
 *
 * @example
 * ```ts
 * import { requestWebGpuBackend } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const noAdapter = { requestAdapter: () => Promise.resolve(null) } as unknown as GPU;
 * await assert.rejects(() => requestWebGpuBackend(noAdapter), /no GPU adapter/);
 * ```
 */
export async function requestWebGpuBackend(
  gpu: GPU | null = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu ?? null,
): Promise<WebGpuBackend> {
  if (!gpu) {
    throw new Error(
      'setDevice("webgpu"): navigator.gpu is not available in this runtime (Deno 2 provides it; a browser needs WebGPU enabled)',
    );
  }
  const adapter = await timeout(gpu.requestAdapter(), 30_000, "requestAdapter()");
  if (!adapter) {
    throw new Error(
      'setDevice("webgpu"): no GPU adapter is available (navigator.gpu.requestAdapter() returned null); install a GPU driver or a software Vulkan driver such as Mesa llvmpipe',
    );
  }
  const l = adapter.limits;
  // Ask for the adapter's own limits: the defaults cap buffers at 128 MiB.
  const device = await timeout(
    adapter.requestDevice({
      requiredLimits: {
        maxBufferSize: l.maxBufferSize,
        maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
        maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
        // Fused kernels read one binding per input: more bindings, longer chains per kernel.
        maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      },
    }),
    30_000,
    "requestDevice()",
  );
  return createWebGpuBackend(device);
}

registerBackendInitializer("webgpu", async () => {
  const backend = await requestWebGpuBackend();
  active = backend;
  // A lost device cannot come back: the next setDevice("webgpu") asks for a new one.
  backend.context.device.lost.then(() => {
    forgetBackend(backend);
    if (active === backend) active = null;
  });
  return backend;
});
