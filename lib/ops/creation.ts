/**
 * Creating tensors: from JS data, or filled, ranged and identity tensors.
 *
 * @module
 */

import { checkDevice, type Device, getDefaultDevice } from "../core/backend.ts";
import { allocate, type DType, isDType, type TypedArray } from "../core/dtype.ts";
import * as lax from "../core/lax.ts";
import { allocating, checkShape, fmt, sizeOf } from "../core/shape.ts";
import { type NestedArray, Tensor } from "../core/tensor.ts";
import { checkTensor, fresh, kindOf } from "./_coerce.ts";
import { astype } from "./elementwise.ts";

/** Where and as what a new tensor is created. */
export interface CreateOptions {
  /** The element type (default float32, or the typed array's type). */
  dtype?: DType;
  /** The device (default: the current default device). */
  device?: Device;
}

/**
 * The typed arrays `tensor` reads: each dtype's own array, and the other integer arrays
 * (read as int32; a plain `Uint8Array` is read as bool).
 */
export type InputArray =
  | TypedArray
  | Int8Array
  | Int16Array
  | Uint16Array
  | Uint32Array
  | Uint8ClampedArray;

/** Options of `tensor`: a shape is needed for flat typed-array data. */
export interface TensorOptions extends CreateOptions {
  /** The shape of flat data (default: its length as a vector). */
  shape?: readonly number[];
}

function resolve(op: string, opts: CreateOptions | undefined, fallback: DType): [DType, Device] {
  if (opts !== undefined && (typeof opts !== "object" || opts === null)) {
    throw new TypeError(`${op}: options must be an object, got ${kindOf(opts)}`);
  }
  const dtype = opts?.dtype ?? fallback;
  if (!isDType(dtype)) {
    throw new TypeError(
      `${op}: unknown dtype ${JSON.stringify(dtype)}; expected float32, float64, int32 or bool`,
    );
  }
  const device = opts?.device === undefined ? getDefaultDevice() : checkDevice(op, opts.device);
  return [dtype, device];
}

// A new tensor of `shape`, its storage allocated and then filled by `fill`.
function make(
  op: string,
  dtype: DType,
  shape: readonly number[],
  device: Device,
  fill: (data: TypedArray) => void,
): Tensor {
  checkShape(op, shape, dtype);
  return allocating(op, shape, dtype, device, () => {
    const data = allocate(dtype, sizeOf(shape));
    fill(data);
    return lax.fromArray(data, shape, device);
  });
}

// A number that must fit `dtype`: int32 takes it truncated toward zero, and one out of range
// (or NaN) is an error, not a wrap.
function checkFits(op: string, v: number, dtype: DType, at = ""): void {
  if (dtype !== "int32" || (v > -2147483649 && v < 2147483648)) return;
  throw new RangeError(`${op}: the value ${v}${at} does not fit in int32 (a float dtype holds it)`);
}

// Copies JS values into a dtype's array: to bool as `!= 0` (NaN is true, as in NumPy), to
// int32 truncated toward zero, where a value that does not fit is an error, not a wrap.
function cast(op: string, values: ArrayLike<number>, dtype: DType, out: TypedArray): void {
  if (dtype === "bool") {
    for (let i = 0; i < values.length; i++) out[i] = values[i] !== 0 ? 1 : 0;
    return;
  }
  if (dtype === "int32" && !(values instanceof Int32Array)) {
    for (let i = 0; i < values.length; i++) checkFits(op, values[i], dtype, ` at index ${i}`);
  }
  out.set(values);
}

// The dtype a typed array is read as when no dtype is asked for.
function dtypeOfInput(data: ArrayBufferView): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Uint8Array) return "bool";
  const integers = [Int32Array, Int16Array, Int8Array, Uint16Array, Uint32Array, Uint8ClampedArray];
  if (integers.some((type) => data instanceof type)) return "int32";
  if (data.constructor.name === "Float16Array") return "float32";
  throw new TypeError(
    `tensor: cannot read a ${data.constructor.name}; pass a float, integer or Uint8Array (bool) typed array`,
  );
}

function fromTyped(data: ArrayBufferView, opts: TensorOptions | undefined): Tensor {
  const [dtype, device] = resolve("tensor", opts, dtypeOfInput(data));
  const values = data as unknown as ArrayLike<number>;
  if (data instanceof Uint8Array && opts?.dtype === undefined) {
    const i = (data as Uint8Array).findIndex((v) => v > 1);
    if (i >= 0) {
      throw new RangeError(
        `tensor: a Uint8Array is read as bool (0 or 1), but it holds ${
          values[i]
        } at index ${i}; pass { dtype: "int32" } to read bytes`,
      );
    }
  }
  const shape = opts?.shape ? checkShape("tensor", opts.shape) : [values.length];
  if (sizeOf(shape) !== values.length) {
    throw new RangeError(`tensor: ${values.length} values do not fill shape ${fmt(shape)}`);
  }
  return make("tensor", dtype, shape, device, (out) => cast("tensor", values, dtype, out));
}

// An existing tensor as `tensor(x, opts)` asks: always a new tensor, never `x` itself.
function fromTensor(x: Tensor, opts: TensorOptions | undefined): Tensor {
  const [dtype, device] = resolve("tensor", opts, x.dtype);
  if (device !== x.device && opts?.device !== undefined) {
    throw new TypeError(
      `tensor: cannot move a tensor from ${x.device} to ${device} here; use \`await x.to("${device}")\``,
    );
  }
  if (opts?.shape !== undefined) {
    throw new TypeError(
      "tensor: a shape option applies to flat data, not to a tensor; use reshape",
    );
  }
  return fresh(astype(x, dtype), x);
}

function inferShape(data: NestedArray): number[] {
  if (!Array.isArray(data) && typeof data !== "number" && typeof data !== "boolean") {
    throw new TypeError(
      `tensor: expected a number, a boolean, nested arrays or a typed array, got ${kindOf(data)}`,
    );
  }
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
 * their own type (other integer arrays to int32; a plain `Uint8Array` is bool and must hold
 * only 0 and 1). Into int32, numbers are truncated toward zero, and one that does not fit
 * (or NaN) is a RangeError rather than a wrapped value; into bool, any number but 0 (NaN too)
 * is true. A tensor gives a new tensor (converted as `astype` converts).
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
  data: NestedArray | InputArray | Tensor,
  opts?: TensorOptions,
): Tensor {
  if (data instanceof Tensor) return fromTensor(data, opts);
  if (ArrayBuffer.isView(data)) return fromTyped(data, opts);
  const shape = inferShape(data);
  const { values, allBool } = flattenNested(data, shape);
  const bool = allBool && values.length > 0;
  const [dtype, device] = resolve("tensor", opts, bool ? "bool" : "float32");
  const target = opts?.shape ? checkShape("tensor", opts.shape) : shape;
  if (sizeOf(target) !== values.length) {
    throw new RangeError(`tensor: ${values.length} values do not fill shape ${fmt(target)}`);
  }
  return make("tensor", dtype, target, device, (out) => cast("tensor", values, dtype, out));
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
    throw new TypeError(`${op}: value must be a number or a boolean, got ${kindOf(value)}`);
  }
  const fallback: DType = typeof value === "boolean" ? "bool" : "float32";
  const [dtype, device] = resolve(op, opts, fallback);
  const v = Number(value);
  checkFits(op, v, dtype);
  return make(op, dtype, s, device, (data) => data.fill(dtype === "bool" ? Number(v !== 0) : v));
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
  finiteNumbers("arange", "arguments", [start, stop, step]);
  if (step === 0) throw new RangeError("arange: step must not be zero");
  const integral = [start, stop, step].every(Number.isInteger);
  const [dtype, device] = resolve("arange", opts, integral ? "int32" : "float32");
  const n = Math.max(0, Math.ceil((stop - start) / step));
  checkShape("arange", [n], dtype);
  if (n > 0) [start, start + (n - 1) * step].forEach((v) => checkFits("arange", v, dtype));
  return make("arange", dtype, [n], device, (data) => {
    for (let i = 0; i < n; i++) data[i] = start + i * step;
  });
}

// Numbers that must be finite: a TypeError for another kind, a RangeError for NaN or ±inf.
function finiteNumbers(op: string, what: string, values: unknown[]): void {
  for (const v of values) {
    if (typeof v !== "number") {
      throw new TypeError(`${op}: ${what} must be numbers, got ${kindOf(v)}`);
    }
    if (!Number.isFinite(v)) throw new RangeError(`${op}: ${what} must be finite, got ${v}`);
  }
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
  finiteNumbers("linspace", "start and stop", [start, stop]);
  count("linspace", "num", num);
  const [dtype, device] = resolve("linspace", opts, "float32");
  [start, stop].forEach((v) => checkFits("linspace", v, dtype));
  const step = num > 1 ? (stop - start) / (num - 1) : 0;
  return make("linspace", dtype, [num], device, (data) => {
    for (let i = 0; i < num; i++) data[i] = i === num - 1 && num > 1 ? stop : start + i * step;
  });
}

// A count argument: a TypeError for another kind, a RangeError for a fraction or a negative.
function count(op: string, name: string, n: unknown): void {
  if (typeof n !== "number") {
    throw new TypeError(`${op}: ${name} must be an integer, got ${kindOf(n)}`);
  }
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`${op}: ${name} must be an integer >= 0, got ${n}`);
  }
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
  count("eye", "n", n);
  const [dtype, device] = resolve("eye", opts, "float32");
  return make("eye", dtype, [n, n], device, (data) => {
    for (let i = 0; i < n; i++) data[i * n + i] = 1;
  });
}
