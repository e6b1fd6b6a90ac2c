/**
 * `Tensor`: the immutable n-d array users hold. Concrete tensors own a backend buffer; tracers
 * (values seen inside a transformation) are Tensors too, so user code cannot tell them apart.
 * The methods delegate to the operations in `lib/ops`, which register themselves here so that
 * the core never imports them.
 *
 * @module
 */

import { type Aval, checkDevice, type Device, getBackend, initBackend } from "./backend.ts";
import type { DType, TypedArray } from "./dtype.ts";
import { fmt, type Shape, sizeOf } from "./shape.ts";
import { formatTensor } from "./_format.ts";
import { noteTensor } from "./transient.ts";

/** A tensor, or a JS number or boolean standing for a scalar of adaptable ("weak") type. */
export type TensorLike = Tensor | number | boolean;

/** Nested JS arrays of numbers, as `toArray()` returns and `tensor()` accepts. */
export type NestedArray = number | boolean | NestedArray[];

/** Options of the reductions: which axes to reduce and whether to keep them with size 1. */
export interface ReduceOptions {
  /** The axis or axes to reduce (negative counts from the end); all axes when omitted. */
  axis?: number | number[];
  /** Keep reduced axes as size-1 dimensions. */
  keepdims?: boolean;
}

// deno-lint-ignore no-explicit-any
type AnyOp = (...args: any[]) => any;
const ops: Record<string, AnyOp> = {};

/**
 * Installs the operations that Tensor methods delegate to (called once by `lib/ops`).
 *
 * @example
 * ```ts
 * import { tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(tensor([1, 2]).add(1).sum().item(), 5);
 * ```
 */
export function registerTensorMethods(table: Record<string, AnyOp>): void {
  Object.assign(ops, table);
}

function op(name: string): AnyOp {
  const f = ops[name];
  if (!f) throw new Error(`Tensor.${name}: operations are not loaded; import "mod.ts"`);
  return f;
}

// Device memory of tensors that were garbage-collected without `dispose()` goes back to its
// backend here. `dispose()` empties the cell instead of unregistering the tensor: registering
// without an unregister token costs a fifth as much, and this runs for every tensor. The cell
// holds the backend's handle, never the buffer, so that it keeps no values alive.
interface Cell {
  readonly device: Device;
  handle: unknown;
}
const collected = new FinalizationRegistry<Cell>((cell) => {
  if (cell.handle !== null) getBackend(cell.device).releaseHandle?.(cell.handle);
});

/**
 * An immutable n-dimensional array. No operation mutates or consumes its inputs; a tensor
 * stays valid until it is garbage-collected or `dispose()`d.
 *
 * @example
 * ```ts
 * import { tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const x = tensor([[1, 2], [3, 4]]);
 * assert.deepEqual(x.shape, [2, 2]);
 * assert.deepEqual(await x.mul(2).toArray(), [[2, 4], [6, 8]]);
 * ```
 */
export class Tensor implements Aval {
  /** The dimensions (frozen). */
  readonly shape: readonly number[];
  /** The element type. */
  readonly dtype: DType;
  /** Where the data lives. */
  readonly device: Device;
  /** The backend buffer of a concrete tensor; `null` for tracers and after `dispose()`. */
  protected _buffer: unknown;
  #cell: Cell | null = null;

  /**
   * Wraps a backend buffer (concrete tensor) or declares a tracer's abstract value. Users
   * create tensors with `tensor()`, `zeros()` and the other creation functions.
   */
  constructor(aval: Aval, buffer: unknown = null) {
    this.shape = Object.freeze([...aval.shape]);
    this.dtype = aval.dtype;
    this.device = aval.device;
    this._buffer = buffer;
    if (buffer === null) return;
    noteTensor(this);
    const handle = getBackend(aval.device).collectHandle?.(buffer) ?? null;
    if (handle !== null) {
      this.#cell = { device: aval.device, handle };
      collected.register(this, this.#cell);
    }
  }

  /** The number of elements. */
  get size(): number {
    return sizeOf(this.shape);
  }

  /** The number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  /** The backend buffer, for backends and the evaluation trace. */
  get buffer(): unknown {
    if (this._buffer === null) {
      const to = donatedTo.get(this);
      if (to !== undefined) {
        throw new TypeError(
          `tensor ${this.describe()} was donated to ${to}, which reused its memory; pass a copy, or do not donate it, to use it after the call`,
        );
      }
      if (!this.isTracer) throw new TypeError(`tensor ${this.describe()} was disposed`);
      throw new Error(
        `a traced tensor ${this.describe()} has no values; return it from the transformed function instead of reading it`,
      );
    }
    return this._buffer;
  }

  /** Whether this is a tracer standing for a value inside a transformation. */
  get isTracer(): boolean {
    return false;
  }

  /** A short description for error messages: `float32[2,3]`. */
  describe(): string {
    return `${this.dtype}${fmt(this.shape)}`;
  }

  /** A row-major copy of the values (works on every device). */
  data(): Promise<TypedArray> {
    return this.#read("data");
  }

  /** The values as nested JS arrays (booleans for `bool`). */
  async toArray(): Promise<NestedArray> {
    return nest(await this.#read("toArray"), this.shape, this.dtype);
  }

  /** A synchronous row-major copy; CPU only (device tensors need `await x.data()`). */
  dataSync(): TypedArray {
    return this.#readSync("dataSync");
  }

  /** The values as nested JS arrays; CPU only (device tensors need `await x.toArray()`). */
  arraySync(): NestedArray {
    return nest(this.#readSync("arraySync"), this.shape, this.dtype);
  }

  /**
   * The concrete tensor this value stands for, when it is known: the tensor itself, or for a
   * tracer of differentiation its primal value; `null` inside `jit` and `vmap`, where values
   * are only known once the transformed function has returned.
   */
  concrete(): Tensor | null {
    return this;
  }

  /** The transformation a tracer belongs to, for messages (`"jit"`, `"vmap"`, ...). */
  get tracedBy(): string {
    return "";
  }

  // The tensor whose values `op` reads, or a TypeError naming `op` for a value not known yet.
  #known(op: string): Tensor {
    const known = this.concrete();
    if (known !== null) return known;
    throw new TypeError(
      `${op}: ${this.describe()} is a traced value inside ${this.tracedBy}, known only when the transformed function runs; return it from the function instead of reading it, and use nb.where (not if) for choices that depend on values`,
    );
  }

  #read(op: string): Promise<TypedArray> {
    try {
      const t = this.#known(op);
      return getBackend(t.device).read(t.buffer);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #readSync(op: string): TypedArray {
    const t = this.#known(op);
    const data = getBackend(t.device).readSync(t.buffer);
    if (data === null) {
      throw new Error(
        `${op}: tensor is on device "${t.device}", which reads asynchronously; use \`await x.data()\``,
      );
    }
    return data;
  }

  /**
   * A one-element tensor as a JS number where JavaScript asks for one (`x > 0`, `+x`); its
   * text in a string (`${x}`). A traced value inside `jit` or `vmap` has no number yet: a
   * TypeError.
   */
  [Symbol.toPrimitive](hint: string): number | string {
    if (hint === "string") return this.toString();
    const op = "a JS number (comparison or arithmetic on a tensor)";
    if (this.size !== 1) {
      throw new TypeError(
        `${op}: tensor ${this.describe()} has ${this.size} elements; only a one-element tensor converts`,
      );
    }
    return this.#readSync(op)[0];
  }

  /**
   * The single value of a one-element tensor, as a number (a bool is 1 or 0; see
   * {@linkcode Tensor.itemBool}); CPU only.
   */
  item(): number {
    if (this.size !== 1) {
      throw new RangeError(`item: tensor of shape ${fmt(this.shape)} has ${this.size} elements`);
    }
    return this.#readSync("item")[0];
  }

  /**
   * The truth of a one-element tensor's value: a bool's value, for numbers whether it is
   * nonzero (NaN is true, as in NumPy); CPU only.
   */
  itemBool(): boolean {
    if (this.size !== 1) {
      throw new RangeError(
        `itemBool: tensor of shape ${fmt(this.shape)} has ${this.size} elements`,
      );
    }
    return this.#readSync("itemBool")[0] !== 0;
  }

  /** A copy on a device (a new tensor, even on the same device). */
  async to(device: Device): Promise<Tensor> {
    checkDevice("to", device);
    const [data, target] = await Promise.all([this.data(), initBackend(device)]);
    return new Tensor(
      { shape: this.shape, dtype: this.dtype, device },
      target.fromArray(data, this.shape),
    );
  }

  /** Releases the storage now; later reads throw. Idempotent. */
  dispose(): void {
    if (this._buffer === null) return;
    if (this.#cell !== null) this.#cell.handle = null;
    getBackend(this.device).dispose(this._buffer);
    this._buffer = null;
  }

  /** `using x = ...` disposes at the end of the scope. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /**
   * The values as NumPy prints them: `tensor([1, 2], dtype=int32)`, rows aligned on lines of
   * their own from 2-d on, summarised around `...` past 1000 elements. Without values to read
   * it names what it is: `Tensor(float32[2,3], traced)`, `Tensor(float32[2,3], disposed)`, or
   * `Tensor(float32[2,3], device=webgpu)` on a device that reads asynchronously.
   */
  toString(): string {
    return this.#text(false);
  }

  /** `console.log` in Deno: as `toString()`, naming the shape, dtype and device too. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.#text(true);
  }

  /** `console.log` in Node (`util.inspect`): as in Deno. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.#text(true);
  }

  #text(inspect: boolean): string {
    if (this.isTracer) return `Tensor(${this.describe()}, traced)`;
    if (this._buffer === null) return `Tensor(${this.describe()}, disposed)`;
    const data = getBackend(this.device).readSync(this._buffer);
    if (data === null) return `Tensor(${this.describe()}, device=${this.device})`;
    return formatTensor(data, this.shape, this.dtype, inspect ? { device: this.device } : {});
  }

  // ---- Elementwise -------------------------------------------------------------------------

  /** `this + y` with broadcasting. */
  add(y: TensorLike): Tensor {
    return op("add")(this, y);
  }
  /** `this - y` with broadcasting. */
  sub(y: TensorLike): Tensor {
    return op("sub")(this, y);
  }
  /** `this * y` with broadcasting. */
  mul(y: TensorLike): Tensor {
    return op("mul")(this, y);
  }
  /** `this / y` with broadcasting (true division). */
  div(y: TensorLike): Tensor {
    return op("div")(this, y);
  }
  /** `this ** y` with broadcasting. */
  pow(y: TensorLike): Tensor {
    return op("pow")(this, y);
  }
  /** Elementwise maximum. */
  maximum(y: TensorLike): Tensor {
    return op("maximum")(this, y);
  }
  /** Elementwise minimum. */
  minimum(y: TensorLike): Tensor {
    return op("minimum")(this, y);
  }
  /** `this == y` (bool). */
  equal(y: TensorLike): Tensor {
    return op("equal")(this, y);
  }
  /** `this != y` (bool). */
  notEqual(y: TensorLike): Tensor {
    return op("notEqual")(this, y);
  }
  /** `this < y` (bool). */
  less(y: TensorLike): Tensor {
    return op("less")(this, y);
  }
  /** `this <= y` (bool). */
  lessEqual(y: TensorLike): Tensor {
    return op("lessEqual")(this, y);
  }
  /** `this > y` (bool). */
  greater(y: TensorLike): Tensor {
    return op("greater")(this, y);
  }
  /** `this >= y` (bool). */
  greaterEqual(y: TensorLike): Tensor {
    return op("greaterEqual")(this, y);
  }
  /** `-this`. */
  neg(): Tensor {
    return op("neg")(this);
  }
  /** `e ** this`. */
  exp(): Tensor {
    return op("exp")(this);
  }
  /** Natural logarithm. */
  log(): Tensor {
    return op("log")(this);
  }
  /** Square root. */
  sqrt(): Tensor {
    return op("sqrt")(this);
  }
  /** `this * this`. */
  square(): Tensor {
    return op("square")(this);
  }
  /** Absolute value. */
  abs(): Tensor {
    return op("abs")(this);
  }
  /** -1, 0 or 1. */
  sign(): Tensor {
    return op("sign")(this);
  }
  /** Sine. */
  sin(): Tensor {
    return op("sin")(this);
  }
  /** Cosine. */
  cos(): Tensor {
    return op("cos")(this);
  }
  /** Hyperbolic tangent. */
  tanh(): Tensor {
    return op("tanh")(this);
  }
  /** Logistic sigmoid `1 / (1 + e^-x)`. */
  sigmoid(): Tensor {
    return op("sigmoid")(this);
  }
  /** `max(this, 0)`. */
  relu(): Tensor {
    return op("relu")(this);
  }
  /** Limits values to `[lo, hi]`. */
  clip(lo: TensorLike, hi: TensorLike): Tensor {
    return op("clip")(this, lo, hi);
  }
  /** Converts to another dtype. */
  astype(dtype: DType): Tensor {
    return op("astype")(this, dtype);
  }

  // ---- Reductions --------------------------------------------------------------------------

  /** Sum over axes. */
  sum(opts?: ReduceOptions): Tensor {
    return op("sum")(this, opts);
  }
  /** Mean over axes. */
  mean(opts?: ReduceOptions): Tensor {
    return op("mean")(this, opts);
  }
  /** Maximum over axes. */
  max(opts?: ReduceOptions): Tensor {
    return op("max")(this, opts);
  }
  /** Minimum over axes. */
  min(opts?: ReduceOptions): Tensor {
    return op("min")(this, opts);
  }
  /** Product over axes. */
  prod(opts?: ReduceOptions): Tensor {
    return op("prod")(this, opts);
  }
  /** Index of the maximum along one axis (flattened when no axis). */
  argmax(opts?: { axis?: number; keepdims?: boolean }): Tensor {
    return op("argmax")(this, opts);
  }
  /** Index of the minimum along one axis (flattened when no axis). */
  argmin(opts?: { axis?: number; keepdims?: boolean }): Tensor {
    return op("argmin")(this, opts);
  }
  /** `log(sum(exp(this)))`, computed stably. */
  logsumexp(opts?: ReduceOptions): Tensor {
    return op("logsumexp")(this, opts);
  }
  /** Population variance over axes. */
  var(opts?: ReduceOptions): Tensor {
    return op("var")(this, opts);
  }

  // ---- Shape -------------------------------------------------------------------------------

  /** Same values in a new shape (one `-1` allowed). */
  reshape(shape: readonly number[]): Tensor {
    return op("reshape")(this, shape);
  }
  /** Permutes axes (reverses them by default). */
  transpose(axes?: readonly number[]): Tensor {
    return op("transpose")(this, axes);
  }
  /** The transpose (axes reversed). */
  get T(): Tensor {
    return op("transpose")(this);
  }
  /** Inserts a size-1 axis. */
  expandDims(axis: number): Tensor {
    return op("expandDims")(this, axis);
  }
  /** Removes size-1 axes (all of them by default). */
  squeeze(axis?: number | number[]): Tensor {
    return op("squeeze")(this, axis);
  }
  /** Broadcasts to a shape with NumPy rules. */
  broadcastTo(shape: readonly number[]): Tensor {
    return op("broadcastTo")(this, shape);
  }
  /** Splits into equal sections or at indices along an axis. */
  split(sections: number | number[], axis = 0): Tensor[] {
    return op("split")(this, sections, axis);
  }
  /** A block starting at `begin` of extent `size` (`-1` means to the end). */
  slice(begin: readonly number[], size: readonly number[]): Tensor {
    return op("slice")(this, begin, size);
  }
  /** Pads each axis with `[before, after]` elements of `value`. */
  pad(widths: readonly (readonly [number, number])[], value = 0): Tensor {
    return op("pad")(this, widths, value);
  }
  /** Elements at `indices` along an axis. */
  take(indices: TensorLike | number[], opts?: { axis?: number }): Tensor {
    return op("take")(this, indices, opts);
  }

  // ---- Linear algebra and neural functions -------------------------------------------------

  /** Matrix product with NumPy semantics. */
  matmul(y: Tensor): Tensor {
    return op("matmul")(this, y);
  }
  /** Dot product (NumPy `dot`). */
  dot(y: Tensor): Tensor {
    return op("dot")(this, y);
  }
  /** Outer product of two vectors. */
  outer(y: Tensor): Tensor {
    return op("outer")(this, y);
  }
  /** Softmax along an axis (last by default). */
  softmax(opts?: { axis?: number }): Tensor {
    return op("softmax")(this, opts);
  }
  /** Log-softmax along an axis (last by default). */
  logSoftmax(opts?: { axis?: number }): Tensor {
    return op("logSoftmax")(this, opts);
  }
}

// Tensors given up to a compiled call (`jit`'s `donateArgnums`), with the call's name.
const donatedTo = new WeakMap<Tensor, string>();

/**
 * Gives a tensor's storage up to `to` (a compiled call that reuses it): the tensor is disposed,
 * and reading it afterwards is a TypeError that names `to`.
 *
 * @example
 * ```ts
 * import { donate } from "./tensor.ts";
 * import { tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const x = tensor([1, 2]);
 * donate(x, "jit(step)");
 * assert.throws(() => x.dataSync(), /donated to jit\(step\)/);
 * ```
 */
export function donate(t: Tensor, to: string): void {
  donatedTo.set(t, to);
  t.dispose();
}

function nest(data: TypedArray, shape: Shape, dtype: DType): NestedArray {
  const conv = dtype === "bool" ? (v: number) => v !== 0 : (v: number) => v;
  if (shape.length === 0) return conv(data[0]);
  let pos = 0;
  const build = (dim: number): NestedArray[] => {
    const out: NestedArray[] = new Array(shape[dim]);
    for (let i = 0; i < shape[dim]; i++) {
      out[i] = dim === shape.length - 1 ? conv(data[pos++]) : build(dim + 1);
    }
    return out;
  };
  return build(0);
}
