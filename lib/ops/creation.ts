/**
 * Creating tensors: from JS data, or filled, ranged and identity tensors.
 *
 * @module
 */

import { type Device, getDefaultDevice } from "../core/backend.ts";
import { allocate, type DType, dtypeOfArray, isDType, type TypedArray } from "../core/dtype.ts";
import * as lax from "../core/lax.ts";
import { checkShape, fmt, sizeOf } from "../core/shape.ts";
import { type NestedArray, Tensor } from "../core/tensor.ts";
import { checkTensor } from "./_coerce.ts";

/** Where and as what a new tensor is created. */
export interface CreateOptions {
  /** The element type (default float32, or the typed array's type). */
  dtype?: DType;
  /** The device (default: the current default device). */
  device?: Device;
}

/** Options of `tensor`: a shape is needed for flat typed-array data. */
export interface TensorOptions extends CreateOptions {
  /** The shape of flat data (default: its length as a vector). */
  shape?: readonly number[];
}

function resolve(op: string, opts: CreateOptions | undefined, fallback: DType): [DType, Device] {
  const dtype = opts?.dtype ?? fallback;
  if (!isDType(dtype)) {
    throw new TypeError(
      `${op}: unknown dtype ${JSON.stringify(dtype)}; expected float32, float64, int32 or bool`,
    );
  }
  return [dtype, opts?.device ?? getDefaultDevice()];
}

function make(data: TypedArray, shape: readonly number[], device: Device): Tensor {
  return lax.fromArray(data, shape, device);
}

function castArray(data: ArrayLike<number>, dtype: DType): TypedArray {
  const out = allocate(dtype, data.length);
  if (dtype === "bool") { for (let i = 0; i < data.length; i++) out[i] = data[i] ? 1 : 0; }
  else out.set(data);
  return out;
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let level: NestedArray = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  return shape;
}

function flattenNested(data: NestedArray, shape: number[]): { values: number[]; allBool: boolean } {
  const values: number[] = [];
  let allBool = true;
  const walk = (x: NestedArray, depth: number) => {
    if (depth === shape.length) {
      if (typeof x === "number") allBool = false;
      else if (typeof x !== "boolean") {
        throw new TypeError(
          `tensor: expected numbers or booleans, found ${
            Array.isArray(x) ? "an array" : typeof x
          } at depth ${depth}`,
        );
      }
      values.push(Number(x));
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[depth]) {
      throw new RangeError(
        `tensor: ragged nested array at depth ${depth}: expected length ${shape[depth]}, got ${
          Array.isArray(x) ? x.length : "a scalar"
        }`,
      );
    }
    for (const c of x) walk(c, depth + 1);
  };
  walk(data, 0);
  return { values, allBool };
}

/**
 * A tensor from a number, a boolean, nested arrays, or a typed array (with `shape`). Numbers
 * default to float32 (also when mixed with booleans), booleans alone to bool, typed arrays to
 * their own type.
 *
 * @example
 * ```ts
 * import { tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const x = tensor([[1, 2], [3, 4]], { dtype: "int32" });
 * assert.equal(x.toString(), "tensor([[1, 2],\n        [3, 4]], dtype=int32)");
 * assert.deepEqual(tensor(new Float32Array(6), { shape: [2, 3] }).shape, [2, 3]);
 * ```
 */
export function tensor(
  data: NestedArray | TypedArray | Tensor,
  opts?: TensorOptions,
): Tensor {
  if (data instanceof Tensor) return opts?.dtype ? lax.convert(data, opts.dtype) : data;
  if (ArrayBuffer.isView(data)) {
    const typed = data as TypedArray;
    const [dtype, device] = resolve("tensor", opts, dtypeOfArray(typed));
    const shape = opts?.shape ? checkShape("tensor", opts.shape) : [typed.length];
    if (sizeOf(shape) !== typed.length) {
      throw new RangeError(`tensor: ${typed.length} values do not fill shape ${fmt(shape)}`);
    }
    return make(castArray(typed, dtype), shape, device);
  }
  const shape = inferShape(data);
  const { values, allBool } = flattenNested(data, shape);
  const bool = allBool && values.length > 0;
  const [dtype, device] = resolve("tensor", opts, bool ? "bool" : "float32");
  const target = opts?.shape ? checkShape("tensor", opts.shape) : shape;
  if (sizeOf(target) !== values.length) {
    throw new RangeError(`tensor: ${values.length} values do not fill shape ${fmt(target)}`);
  }
  return make(castArray(values, dtype), target, device);
}

/**
 * A tensor of `value` everywhere.
 *
 * @example
 * ```ts
 * import { full } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await full([2], 7).toArray(), [7, 7]);
 * ```
 */
export function full(
  shape: readonly number[],
  value: number | boolean,
  opts?: CreateOptions,
): Tensor {
  return filled("full", shape, value, opts);
}

function filled(
  op: string,
  shape: readonly number[],
  value: number | boolean,
  opts: CreateOptions | undefined,
): Tensor {
  const s = checkShape(op, shape);
  if (typeof value !== "number" && typeof value !== "boolean") {
    throw new TypeError(`${op}: value must be a number or a boolean, got ${typeof value}`);
  }
  const fallback: DType = typeof value === "boolean" ? "bool" : "float32";
  const [dtype, device] = resolve(op, opts, fallback);
  const data = allocate(dtype, sizeOf(s));
  data.fill(Number(value));
  return make(data, s, device);
}

/**
 * A tensor of zeros.
 *
 * @example
 * ```ts
 * import { zeros } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await zeros([2, 1]).toArray(), [[0], [0]]);
 * ```
 */
export function zeros(shape: readonly number[], opts?: CreateOptions): Tensor {
  return filled("zeros", shape, 0, opts);
}

/**
 * A tensor of ones.
 *
 * @example
 * ```ts
 * import { ones } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await ones([2], { dtype: "int32" }).toArray(), [1, 1]);
 * ```
 */
export function ones(shape: readonly number[], opts?: CreateOptions): Tensor {
  return filled("ones", shape, 1, opts);
}

/**
 * Zeros with the shape, dtype and device of `x`.
 *
 * @example
 * ```ts
 * import { tensor, zerosLike } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await zerosLike(tensor([1, 2])).toArray(), [0, 0]);
 * ```
 */
export function zerosLike(x: Tensor, opts?: CreateOptions): Tensor {
  checkTensor("zerosLike", x);
  return filled("zerosLike", x.shape, 0, {
    dtype: opts?.dtype ?? x.dtype,
    device: opts?.device ?? x.device,
  });
}

/**
 * Ones with the shape, dtype and device of `x`.
 *
 * @example
 * ```ts
 * import { onesLike, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await onesLike(tensor([1, 2])).toArray(), [1, 1]);
 * ```
 */
export function onesLike(x: Tensor, opts?: CreateOptions): Tensor {
  checkTensor("onesLike", x);
  return filled("onesLike", x.shape, 1, {
    dtype: opts?.dtype ?? x.dtype,
    device: opts?.device ?? x.device,
  });
}

/**
 * Evenly spaced values in `[start, stop)` (NumPy `arange`; `arange(n)` counts from 0).
 * Integer arguments give int32, others float32.
 *
 * @example
 * ```ts
 * import { arange } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await arange(4).toArray(), [0, 1, 2, 3]);
 * assert.deepEqual(await arange(1, 2, 0.25).toArray(), [1, 1.25, 1.5, 1.75]);
 * ```
 */
export function arange(start: number, stop?: number, step = 1, opts?: CreateOptions): Tensor {
  if (stop === undefined) [start, stop] = [0, start];
  for (const v of [start, stop, step]) {
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new TypeError(`arange: arguments must be finite numbers, got ${v}`);
    }
  }
  if (step === 0) throw new RangeError("arange: step must not be zero");
  const integral = [start, stop, step].every(Number.isInteger);
  const [dtype, device] = resolve("arange", opts, integral ? "int32" : "float32");
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const data = allocate(dtype, n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return make(data, [n], device);
}

/**
 * `num` evenly spaced values from `start` to `stop`, both included.
 *
 * @example
 * ```ts
 * import { linspace } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await linspace(0, 1, 5).toArray(), [0, 0.25, 0.5, 0.75, 1]);
 * ```
 */
export function linspace(start: number, stop: number, num: number, opts?: CreateOptions): Tensor {
  for (const v of [start, stop]) {
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new TypeError(`linspace: start and stop must be finite numbers, got ${v}`);
    }
  }
  if (!Number.isInteger(num) || num < 0) {
    throw new RangeError(`linspace: num must be an integer >= 0, got ${num}`);
  }
  const [dtype, device] = resolve("linspace", opts, "float32");
  const data = allocate(dtype, num);
  const step = num > 1 ? (stop - start) / (num - 1) : 0;
  for (let i = 0; i < num; i++) data[i] = i === num - 1 && num > 1 ? stop : start + i * step;
  return make(data, [num], device);
}

/**
 * The `n`×`n` identity matrix.
 *
 * @example
 * ```ts
 * import { eye } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await eye(2).toArray(), [[1, 0], [0, 1]]);
 * ```
 */
export function eye(n: number, opts?: CreateOptions): Tensor {
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`eye: n must be an integer >= 0, got ${n}`);
  }
  const [dtype, device] = resolve("eye", opts, "float32");
  const data = allocate(dtype, n * n);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  return make(data, [n, n], device);
}
