/**
 * The contract between the core and the backends. A backend knows buffers and kernels, never
 * gradients or tracing; backends register themselves here, and the core never imports one.
 *
 * @module
 */

import type { DType, TypedArray } from "./dtype.ts";
import type { Shape } from "./shape.ts";

/** Where a tensor's data lives. */
export type Device = "cpu" | "webgpu" | "wasm";

const DEVICES: readonly string[] = ["wasm", "cpu", "webgpu"];

/**
 * Checks that a value names a device, or throws a TypeError naming `op` and the devices.
 *
 * @example
 * ```ts
 * import { checkDevice } from "./backend.ts";
 * import assert from "node:assert/strict";
 * assert.equal(checkDevice("zeros", "cpu"), "cpu");
 * assert.throws(() => checkDevice("zeros", "gpu"), /zeros: unknown device "gpu"/);
 * ```
 */
export function checkDevice(op: string, device: unknown): Device {
  if (typeof device === "string" && DEVICES.includes(device)) return device as Device;
  const name = typeof device === "string" ? JSON.stringify(device) : String(device);
  throw new TypeError(`${op}: unknown device ${name}; expected wasm, cpu or webgpu`);
}

/** The abstract value of a tensor: everything about it except its numbers. */
export interface Aval {
  /** The dimensions. */
  readonly shape: Shape;
  /** The element type. */
  readonly dtype: DType;
  /** Where the data lives. */
  readonly device: Device;
}

/** The static parameters of one primitive application (axes, shapes, dtypes, ...). */
export type Params = Readonly<Record<string, unknown>>;

/**
 * A chain of elementwise operations for one fused kernel: external inputs of the outputs'
 * shape, then operations whose arguments index the inputs (`i < inputs.length`) or earlier
 * operations (`inputs.length + k`); the kernel writes the values of the operations listed in
 * `outputs`.
 */
export interface FusedSpec {
  /**
   * The external inputs' types, each of the chain's shape: the outputs', or, where the last
   * operation is a reduction (`Backend.fusibleReduction`) or a concatenation
   * (`Backend.fusibleConcat`), its operands'. (A whole program, `Backend.compileProgram`, reads
   * inputs of any shape.)
   */
  readonly inputs: readonly Aval[];
  /** The operations, in order. */
  readonly ops: readonly {
    readonly name: string;
    readonly params: Params;
    readonly args: readonly number[];
    readonly out: Aval;
  }[];
  /** The operations (indices into `ops`) whose values the kernel writes, the last one last. */
  readonly outputs: readonly number[];
}

/**
 * A fused kernel from input buffers to its outputs' buffers, writing outputs into the buffers
 * `into` names where it can (see `Backend.compileFused`).
 */
export type FusedKernelFn = (inputs: readonly unknown[], into?: readonly unknown[]) => unknown[];

/** A device's storage and kernels. Buffers are opaque to everyone but their backend. */
export interface Backend {
  /** The device this backend serves. */
  readonly device: Device;
  /** Takes ownership of `data` (row-major) as a buffer of the given shape. */
  fromArray(data: TypedArray, shape: Shape): unknown;
  /** A row-major copy of a buffer's values. */
  read(buffer: unknown): Promise<TypedArray>;
  /** A synchronous row-major copy, or `null` when the device can only read asynchronously. */
  readSync(buffer: unknown): TypedArray | null;
  /** Runs primitive `name` on input buffers, producing a buffer described by `out`. */
  run(name: string, inputs: readonly unknown[], params: Params, out: Aval): unknown;
  /** Releases a buffer at once (idempotent). */
  dispose(buffer: unknown): void;
  /**
   * For a buffer holding memory the garbage collector cannot see (a GPU buffer, a block of a
   * Wasm heap): what must be kept to release that memory when the buffer's tensor is collected
   * without `dispose()`; `null` (or absent) when the collector alone reclaims the buffer. The
   * handle must not reference the values, since it outlives the tensor until the finalizer
   * runs.
   */
  collectHandle?(buffer: unknown): unknown;
  /** Releases what a collect handle stands for, once its tensor was collected (idempotent). */
  releaseHandle?(handle: unknown): void;
  /**
   * Runs `f`, the launches of a compiled program, which frees each of its values itself after
   * their last use: the backend may hold back its own reclaiming meanwhile (what the program
   * holds is its working set, not garbage), and may keep values in a form only the program's
   * kernels see, giving the outputs (`f`'s array of buffers) back as equal buffers in its
   * usual form. Absent: `f` runs as is.
   */
  planned?<T>(f: () => T): T;
  /**
   * Whether primitive `name` with these argument and result types can be part of a fused
   * elementwise kernel (`compileFused`). Absent: nothing fuses.
   */
  fusible?(name: string, args: readonly Aval[], out: Aval, params: Params): boolean;
  /**
   * Whether reduction `name` of `arg` can end a fused kernel, taking the elementwise chain
   * before it as its prologue (`compileFused` then gets a spec whose last operation is this
   * reduction). Absent: reductions run alone.
   */
  fusibleReduction?(name: string, arg: Aval, out: Aval, params: Params): boolean;
  /**
   * Whether a product `matmul(a, b)` can head a fused kernel, the elementwise chain after it
   * (a bias, an activation) as its epilogue: `compileFused` then gets a spec with this matmul
   * among its operations and its operands among the inputs. Absent: products run alone.
   */
  fusibleMatmul?(a: Aval, b: Aval, out: Aval): boolean;
  /**
   * Whether a concatenation of values an elementwise chain computes can end a fused kernel,
   * which then writes each operand straight into its place in the result (`compileFused` gets
   * a spec whose last operation is this `concat`, its arguments operations of the chain).
   * Absent: concatenations copy their operands.
   */
  fusibleConcat?(args: readonly Aval[], out: Aval, params: Params): boolean;
  /** The most inputs a fused kernel may read (GPU binding limits); absent: no limit. */
  readonly maxFusedInputs?: number;
  /**
   * Compiles a chain of fusible operations into one kernel from input buffers to output
   * buffers (one per `spec.outputs`), or returns `null` to have them run one by one. A kernel
   * given `into` (a buffer or `undefined` per output, each of the output's type, such as a
   * loop's step of a stacked result; see `empty`) may write an output there and return that
   * very buffer; one that returns a buffer of its own leaves `into[j]` untouched.
   */
  compileFused?(spec: FusedSpec): FusedKernelFn | null;
  /**
   * A buffer of this type whose values are yet to be written (by kernels given it as `into`).
   * Absent: results are never placed.
   */
  empty?(aval: Aval): unknown;
  /**
   * Compiles a whole program as one launch, or returns `null` to have it run kernel by kernel:
   * `spec` lists every equation (all single-result primitives on this device, the inputs of
   * any shape) and `spec.outputs` the values the program returns. A software GPU adapter does
   * this for programs so small that a dispatch's fixed cost outweighs their work. Absent:
   * programs run kernel by kernel.
   */
  compileProgram?(spec: FusedSpec): ((inputs: readonly unknown[]) => unknown[]) | null;
}

const backends = new Map<Device, Backend>();
const initializers = new Map<Device, () => Promise<Backend>>();
const settingUp = new Map<Device, Promise<Backend>>();
let defaultDevice: Device = "cpu";

// `NABLA_DEVICE=cpu` (or `wasm`) picks the starting default, e.g. to run a test suite on the
// reference backend. Read only when the permission is already granted: never a prompt.
function requestedDevice(): string | undefined {
  const env = { name: "env", variable: "NABLA_DEVICE" } as const;
  try {
    if (Deno.permissions.querySync(env).state !== "granted") return undefined;
    return Deno.env.get("NABLA_DEVICE");
  } catch {
    return undefined;
  }
}
const requested = requestedDevice();
// The device the environment asks for while no backend has answered to it: a name that is no
// device, a device this runtime lacks, or `webgpu`, whose adapter only `await setDevice` can
// request. Reported when the default device is first read (an import must not throw), until
// `setDevice` picks a device.
let unmetRequest = requested;

/** Options of {@linkcode registerBackend}. */
export interface RegisterOptions {
  /**
   * Make this device the default for new tensors, unless the `NABLA_DEVICE` environment
   * variable names another one (the wasm device does this when it loads).
   */
  preferred?: boolean;
}

/**
 * Registers a ready backend.
 *
 * @example
 * ```ts
 * import { hasBackend } from "./backend.ts";
 * import "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.ok(hasBackend("cpu"));
 * ```
 */
export function registerBackend(backend: Backend, opts: RegisterOptions = {}): void {
  backends.set(backend.device, backend);
  const device = backend.device;
  if (requested === undefined ? opts.preferred : requested === device) defaultDevice = device;
  if (requested === device) unmetRequest = undefined;
}

/**
 * Registers a backend that needs asynchronous set-up (such as a GPU adapter) before use.
 *
 * @example
 * ```ts
 * import { registerBackendInitializer } from "./backend.ts";
 * registerBackendInitializer("wasm", () => Promise.reject(new Error("not built")));
 * ```
 */
export function registerBackendInitializer(
  device: Device,
  init: () => Promise<Backend>,
): void {
  initializers.set(device, init);
}

/**
 * Drops a backend that can no longer work (a lost GPU device), so that the next
 * `setDevice`/`initBackend` sets its device up anew.
 *
 * @example
 * ```ts
 * import { forgetBackend, getBackend, hasBackend, registerBackend } from "./backend.ts";
 * import "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const cpu = getBackend("cpu");
 * forgetBackend(cpu);
 * assert.ok(!hasBackend("cpu"));
 * registerBackend(cpu);
 * ```
 */
export function forgetBackend(backend: Backend): void {
  if (backends.get(backend.device) === backend) backends.delete(backend.device);
}

/**
 * Whether a backend for `device` is ready.
 *
 * @example
 * ```ts
 * import { hasBackend } from "./backend.ts";
 * import "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.ok(hasBackend("cpu"));
 * ```
 */
export function hasBackend(device: Device): boolean {
  return backends.has(device);
}

/**
 * The backend of a device, or an Error that says how to enable it.
 *
 * @example
 * ```ts
 * import { getBackend } from "./backend.ts";
 * import "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(getBackend("cpu").device, "cpu");
 * ```
 */
export function getBackend(device: Device): Backend {
  const backend = backends.get(device);
  if (backend) return backend;
  throw new Error(
    `device "${device}" is not initialized: call \`await setDevice("${device}")\` first`,
  );
}

/**
 * Makes a device ready (running its asynchronous set-up once) and returns its backend.
 *
 * @example
 * ```ts
 * import { initBackend } from "./backend.ts";
 * import "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal((await initBackend("cpu")).device, "cpu");
 * ```
 */
export async function initBackend(device: Device): Promise<Backend> {
  const ready = backends.get(device);
  if (ready) return ready;
  // Calls that come while the set-up runs share it: a second set-up would make a second GPU
  // device, and the tensors made on the first could not meet those made on the second.
  let pending = settingUp.get(device);
  if (pending === undefined) {
    const init = initializers.get(device);
    if (!init) throw new Error(`setDevice: no backend is available for device "${device}"`);
    pending = init().then((backend) => {
      backends.set(device, backend);
      return backend;
    }).finally(() => settingUp.delete(device));
    settingUp.set(device, pending);
  }
  return await pending;
}

/**
 * The device new tensors are created on.
 *
 * @example
 * ```ts
 * import { getDefaultDevice } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.ok(["wasm", "cpu"].includes(getDefaultDevice()));
 * ```
 */
export function getDefaultDevice(): Device {
  if (unmetRequest !== undefined) throw unmetError(unmetRequest);
  return defaultDevice;
}

function unmetError(name: string): TypeError {
  const message = name === "webgpu"
    ? "NABLA_DEVICE=webgpu cannot pick the starting device, as the GPU is set up " +
      'asynchronously: call `await setDevice("webgpu")` before making tensors ' +
      "(NABLA_DEVICE takes wasm or cpu)"
    : name === "wasm"
    ? "NABLA_DEVICE=wasm: this runtime lacks WebAssembly SIMD or shared memory; " +
      "set NABLA_DEVICE to cpu, or leave it unset"
    : `NABLA_DEVICE=${name} names no device: set it to wasm or cpu, or leave it unset`;
  return new TypeError(message);
}

/**
 * Makes `device` the default for new tensors, initializing its backend first; throws an Error
 * that says why when the device cannot be used.
 *
 * @example
 * ```ts
 * import { setDevice } from "@nabla/nabla";
 * await setDevice("cpu");
 * ```
 */
export async function setDevice(device: Device): Promise<void> {
  checkDevice("setDevice", device);
  await initBackend(device);
  defaultDevice = device;
  unmetRequest = undefined;
}
