/**
 * # nabla (∇)
 *
 * A functional tensor library for Deno: immutable tensors, JAX-style composable
 * transformations (`grad`, `vjp`, `jvp`, `vmap`, `jacfwd`, `jacrev`, `hessian`, `customVjp`),
 * optax-style optimizers (`optim`), functional modules (`nn`), JAX-compatible random numbers
 * (`random`), datasets (`data`) and safetensors I/O (`io`), on the CPU everywhere.
 *
 * ```ts
 * import * as nb from "@nabla/nabla";
 * import assert from "node:assert/strict";
 *
 * const w = nb.tensor([[1, 2], [3, 4]]);
 * const loss = (w: nb.Tensor) => nb.tanh(w.matmul(nb.tensor([1, -1]))).square().sum();
 * const g = nb.grad(loss)(w);
 * assert.deepEqual(g.shape, [2, 2]);
 * assert.equal(nb.grad(nb.grad((x: nb.Tensor) => x.pow(3)))(nb.tensor(2)).item(), 12);
 * ```
 *
 * @module
 */

import "./lib/backends/cpu/mod.ts";
import "./lib/backends/wasm/mod.ts";
import "./lib/backends/webgpu/mod.ts";

export {
  type Aval,
  type Device,
  getDefaultDevice,
  type Params,
  setDevice,
} from "./lib/core/backend.ts";
export type { DType, TypedArray } from "./lib/core/dtype.ts";
export type { Shape } from "./lib/core/shape.ts";
export {
  type NestedArray,
  type ReduceOptions,
  Tensor,
  type TensorLike,
} from "./lib/core/tensor.ts";
export * from "./lib/ops/mod.ts";
export { variance as var } from "./lib/ops/reduce.ts";
export {
  type AuxOf,
  type Fn,
  grad,
  type GradOptions,
  type Grads,
  valueAndGrad,
  vjp,
} from "./lib/transforms/grad.ts";
export { jvp } from "./lib/transforms/jvp.ts";
export {
  jit,
  type JitOptions,
  type Jitted,
  type Lowered,
  makeJaxpr,
} from "./lib/transforms/jit.ts";
export { Program, type ProgramEquation, type ProgramParts, Var } from "./lib/core/program.ts";
export {
  type AnyPrimitive,
  type BatchDim,
  BlockCotangent,
  LinearArg,
  type MultiPrimitive,
  type Primitive,
} from "./lib/core/primitive.ts";
export type { KernelInfo } from "./lib/jit/executable.ts";
export { vmap, type VmapOptions } from "./lib/transforms/vmap.ts";
export { forLoop, scan, type ScanOptions } from "./lib/transforms/scan.ts";
export { whileLoop } from "./lib/transforms/while.ts";
export { cond, switchCase } from "./lib/transforms/cond.ts";
export {
  checkpoint,
  type CheckpointOptions,
  type CheckpointPolicy,
} from "./lib/transforms/checkpoint.ts";
export {
  hessian,
  jacfwd,
  type JacobianOptions,
  jacrev,
  type TensorFn,
} from "./lib/transforms/jacobian.ts";
export { customVjp } from "./lib/transforms/custom_vjp.ts";
export * as tree from "./lib/tree.ts";
export * as testing from "./lib/testing.ts";
export * as random from "./lib/random/mod.ts";
export * as nn from "./lib/nn/mod.ts";
export * as optim from "./lib/optim/mod.ts";
export * as data from "./lib/data/mod.ts";
export * as io from "./lib/io/mod.ts";
