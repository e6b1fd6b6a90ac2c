/**
 * Helpers shared by the WebGPU tests: probing for an adapter once (tests are ignored, with a
 * printed reason, only when there is none), random inputs, and running a function on the CPU
 * and on the GPU to compare the results.
 *
 * @module
 */

import assert from "node:assert/strict";
import * as nb from "../../../mod.ts";
import { initBackend } from "../../core/backend.ts";
import { type WebGpuBackend, webgpuBackend } from "./mod.ts";

const adapter = await navigator.gpu?.requestAdapter().catch(() => null) ?? null;

/** Why the WebGPU tests cannot run here, or `null` when they can. */
export const skipReason: string | null = !("gpu" in navigator)
  ? "navigator.gpu is not available in this runtime"
  : adapter === null
  ? "no GPU adapter (navigator.gpu.requestAdapter() returned null)"
  : null;

if (skipReason !== null) console.log(`%cwebgpu tests ignored: ${skipReason}`, "color: yellow");
else await initBackend("webgpu");

/** `Deno.test` options that ignore a test where no adapter exists. */
export const ignore: boolean = skipReason !== null;

/** The registered backend (only valid when not ignored). */
export function gpu(): WebGpuBackend {
  const b = webgpuBackend();
  if (!b) throw new Error("webgpu backend not initialized");
  return b;
}

/**
 * Runs `body` with the other kernel family (workgroup-memory kernels on a software adapter,
 * one-thread-per-output kernels on hardware), so that both are tested on any machine.
 */
export async function withOtherKernels(body: () => Promise<void>): Promise<void> {
  const ctx = gpu().context;
  const before = ctx.useWorkgroupMemory;
  ctx.useWorkgroupMemory = !before;
  try {
    await body();
  } finally {
    ctx.useWorkgroupMemory = before;
  }
}

/**
 * Runs `body` with small jitted programs compiled kernel by kernel, as on hardware, where a
 * software adapter would run each as one dispatch (see `GpuContext.oneDispatchPrograms`): the
 * fused kernels are tested on any machine. Programs compile on their first call, so `body`
 * jits its functions itself.
 */
export async function kernelByKernel(body: () => Promise<void>): Promise<void> {
  const ctx = gpu().context;
  const before = ctx.oneDispatchPrograms;
  ctx.oneDispatchPrograms = false;
  try {
    await body();
  } finally {
    ctx.oneDispatchPrograms = before;
  }
}

/** Uniform float32 values in [lo, hi) from the library's seeded generator (on the default device). */
export function uniform(shape: number[], seed: number, lo = -1, hi = 1): nb.Tensor {
  return nb.random.uniform(nb.random.key(seed), shape, { minval: lo, maxval: hi });
}

/** Random int32 values in [lo, hi). */
export function ints(shape: number[], seed: number, lo = -5, hi = 6): nb.Tensor {
  return nb.random.randint(nb.random.key(seed), shape, lo, hi);
}

/** Random bools. */
export function bools(shape: number[], seed: number): nb.Tensor {
  return nb.random.bernoulli(nb.random.key(seed), 0.5, shape);
}

/** Tolerances of a comparison; integer and bool results are always compared exactly. */
export interface Tol {
  /** Relative tolerance. */
  rtol?: number;
  /** Absolute tolerance. */
  atol?: number;
}

type Out = nb.Tensor | nb.Tensor[];

/**
 * Runs `f` on CPU copies of the inputs and on copies of them on the GPU, and checks that the GPU results
 * live on the GPU with the same shapes and dtypes and agree with the CPU reference.
 */
export async function agree(
  f: (...xs: nb.Tensor[]) => Out,
  inputs: nb.Tensor[],
  tol: Tol = {},
): Promise<void> {
  const onCpu = await Promise.all(inputs.map((x) => x.to("cpu")));
  const expected = [f(...onCpu)].flat();
  const onGpu = await Promise.all(inputs.map((x) => x.to("webgpu")));
  const actual = [f(...onGpu)].flat();
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    assert.equal(a.device, "webgpu", `output ${i} is on ${a.device}`);
    assert.equal(a.dtype, e.dtype, `output ${i} dtype`);
    assert.deepEqual(a.shape, e.shape, `output ${i} shape`);
    if (e.dtype === "float32") {
      await nb.testing.assertAllClose(a, e, { rtol: tol.rtol ?? 1e-5, atol: tol.atol ?? 1e-6 });
    } else {
      assert.deepEqual([...await a.data()], [...await e.data()], `output ${i} values`);
    }
  }
}
