/**
 * The `wasm` device: tensors live in the shared WebAssembly heap and float32 work runs on the
 * SIMD kernels (matmul on worker threads). Every other case runs the reference CPU kernel on
 * the same heap views, with its result allocated in the heap too, so the device covers every
 * primitive. float64 stays in ordinary arrays on the reference kernels, and so do tensors
 * under 16 KiB, which the garbage collector handles more cheaply than a heap block.
 *
 * Memory: a tensor's block goes back to the allocator on `dispose()`/`using`, or when the
 * tensor is garbage-collected (`collectHandle`). Views share their source's block, which is
 * freed with its last holder. Finalizers run between tasks of the event loop, which reads turn
 * now and then; a loop that never turns it has its heap evicted to ordinary memory whenever the
 * heap has grown too much (`_reclaim.ts`), so memory stays flat either way.
 *
 * Importing this module registers the device and makes it the default where WebAssembly SIMD
 * and shared memory are available (`NABLA_DEVICE=cpu` keeps the reference backend instead).
 *
 * @module
 */

import {
  type Aval,
  type Backend,
  type FusedSpec,
  type Params,
  registerBackend,
} from "../../core/backend.ts";
import { allocate, type DType, dtypeOfArray, type TypedArray } from "../../core/dtype.ts";
import { sizeOf } from "../../core/shape.ts";
import { type Allocate, CpuBuffer, cpuKernels, pack } from "../cpu/mod.ts";
import { defaultWasmContext } from "./_context.ts";
import { ModuleBuilder } from "./_emitter.ts";
import { fastKernels } from "./_kernels.ts";
import { fusedKernel, fusibleConcatOnWasm, fusibleOnWasm } from "./_fused.ts";
import { fusedReductionKernel, fusibleReductionOnWasm } from "./_fused_reduce.ts";
import { HeapStorage, type Hold, WasmBuffer } from "./_storage.ts";
import type { AllocatorStats } from "./_allocator.ts";
import { Reclaimer } from "./_reclaim.ts";

function asBuffer(buffer: unknown): WasmBuffer {
  if (buffer instanceof WasmBuffer) return buffer;
  throw new TypeError("wasm backend: expected a wasm buffer");
}

/** The wasm device's interface: `Backend`, with synchronous reads and heap statistics. */
export interface WasmBackend extends Backend {
  /** A row-major copy of a buffer's values. */
  readSync(buffer: unknown): TypedArray;
  /** The heap's usage counters (live bytes and blocks, memory size). */
  stats(): AllocatorStats;
}

let storage: HeapStorage | undefined;
let reclaimer: Reclaimer | undefined;
const heap = (): HeapStorage => storage ??= new HeapStorage(defaultWasmContext());
const reclaim = (): Reclaimer => reclaimer ??= new Reclaimer(heap());

// Below this size a tensor is an ordinary typed array: the garbage collector frees those
// cheaply, while a heap block must be tracked with a finalizer, which costs a microsecond per
// tensor and keeps it alive through minor collections. Kernels stage small operands into
// scratch blocks when they need addresses. A compiled program frees each of its values after
// its last reader, so there every value stays in the heap: no copy out, no staging back in.
const HEAP_MIN_BYTES = 16384;

function inHeap(dtype: DType, size: number): boolean {
  if (dtype === "float64") return false;
  return reclaim().planning || size * (dtype === "bool" ? 1 : 4) >= HEAP_MIN_BYTES;
}

// The storage reference kernels write their results into (zero-filled unless they write all).
const zeroed: Allocate = (dtype, size, zero = true) =>
  inHeap(dtype, size) ? heap().array(dtype, size, zero) : allocate(dtype, size);

// A kernel's result is a fresh heap array (adopted as a new block), a view of an input's
// storage (one more holder of that input's block), or an ordinary array (float64, small
// results). A small result in the heap is copied out, so that only big tensors hold blocks.
function own(view: CpuBuffer, inputs: readonly WasmBuffer[]): WasmBuffer {
  const h = heap();
  const big = inHeap(view.dtype, view.size);
  if (h.isFresh(view.data)) {
    // An unadopted small result is swept with the kernel's scratch.
    return big ? new WasmBuffer(view, h.adopt(view.data)!) : copiedOut(view);
  }
  for (const input of inputs) {
    if (input.view.data !== view.data || input.block === null) continue;
    if (!big) return copiedOut(view);
    return new WasmBuffer(view, input.block);
  }
  return new WasmBuffer(view, null);
}

// A compiled program's output, as eager kernels give results: one under the heap's minimum
// size leaves its block (inside the program every value was in the heap).
function leaveHeap(output: unknown): unknown {
  if (!(output instanceof WasmBuffer) || output.block === null) return output;
  const { view } = output;
  if (inHeap(view.dtype, view.size)) return output;
  const out = copiedOut(view);
  heap().release(output.hold);
  return out;
}

function copiedOut(view: CpuBuffer): WasmBuffer {
  return new WasmBuffer(new CpuBuffer(pack(view), view.shape), null);
}

/**
 * The wasm backend.
 *
 * @example
 * ```ts
 * import { wasmBackend } from "./_backend.ts";
 * import assert from "node:assert/strict";
 * const x = wasmBackend.fromArray(new Float32Array([1, 2, 3]), [3]);
 * const y = wasmBackend.run("mul", [x, x], {}, { shape: [3], dtype: "float32", device: "wasm" });
 * assert.deepEqual([...wasmBackend.readSync(y)], [1, 4, 9]);
 * wasmBackend.dispose(y);
 * wasmBackend.dispose(x);
 * ```
 */
export const wasmBackend: WasmBackend = {
  device: "wasm",
  collectHandle: (buffer: unknown): Hold | null => {
    const { hold } = asBuffer(buffer);
    return hold.block !== null && reclaim().collectable() ? hold : null;
  },
  releaseHandle: (handle: unknown): void => heap().release(handle as Hold),
  planned: <T>(f: () => T): T => {
    const result = reclaim().planned(f);
    return reclaim().planning || !Array.isArray(result) ? result : result.map(leaveHeap) as T;
  },

  fromArray(data: TypedArray, shape: readonly number[]): WasmBuffer {
    if (data.length !== sizeOf(shape)) {
      throw new RangeError(
        `wasm backend: ${data.length} values cannot fill shape [${shape.join(",")}]`,
      );
    }
    const h = heap();
    if (!inHeap(dtypeOfArray(data), data.length)) {
      return new WasmBuffer(new CpuBuffer(data, shape.slice()), null);
    }
    const copy = h.array(dtypeOfArray(data), data.length, false);
    copy.set(data);
    const block = h.adopt(copy)!;
    h.sweep();
    return new WasmBuffer(new CpuBuffer(copy, shape.slice()), block);
  },

  read(buffer: unknown): Promise<TypedArray> {
    return reclaim().settle(pack(asBuffer(buffer).view));
  },

  readSync(buffer: unknown): TypedArray {
    return pack(asBuffer(buffer).view);
  },

  run(name: string, inputs: readonly unknown[], params: Params, out: Aval): WasmBuffer {
    const reference = cpuKernels.get(name);
    if (!reference) throw new Error(`wasm backend: no kernel for primitive "${name}"`);
    const buffers = new Array<WasmBuffer>(inputs.length);
    for (let i = 0; i < inputs.length; i++) buffers[i] = asBuffer(inputs[i]);
    reclaim().beforeKernel(); // before the views are read: eviction rebases them
    const views = new Array<CpuBuffer>(inputs.length);
    for (let i = 0; i < inputs.length; i++) views[i] = buffers[i].view;
    const h = heap();
    try {
      const result = fastKernels.get(name)?.(views, params, out, h) ??
        reference(views, params, out, zeroed);
      return own(result, buffers);
    } finally {
      h.sweep();
    }
  },

  dispose(buffer: unknown): void {
    heap().release(asBuffer(buffer).hold);
  },

  fusible: fusibleOnWasm,
  fusibleReduction: fusibleReductionOnWasm,
  fusibleConcat: fusibleConcatOnWasm,

  empty(aval: Aval): WasmBuffer {
    const h = heap(), size = sizeOf(aval.shape);
    if (!inHeap(aval.dtype, size)) {
      return new WasmBuffer(new CpuBuffer(allocate(aval.dtype, size), aval.shape.slice()), null);
    }
    const data = h.array(aval.dtype, size, false);
    const block = h.adopt(data)!;
    h.sweep();
    return new WasmBuffer(new CpuBuffer(data, aval.shape.slice()), block);
  },

  compileFused(
    spec: FusedSpec,
  ): (inputs: readonly unknown[], into?: readonly unknown[]) => WasmBuffer[] {
    // A chain ends in a reduction only where `fusibleReduction` accepted it.
    const [only] = spec.ops;
    const lone = spec.ops.length === 1;
    const reduces = spec.ops[spec.ops.length - 1].name.startsWith("reduce");
    if (lone && reduces) return (inputs) => [runLone(only, inputs)];
    const kernel = reduces ? fusedReductionKernel(spec) : fusedKernel(spec);
    const generated = (inputs: readonly unknown[], into?: readonly unknown[]) => {
      const buffers = new Array<WasmBuffer>(inputs.length);
      for (let i = 0; i < inputs.length; i++) buffers[i] = asBuffer(inputs[i]);
      reclaim().beforeKernel(); // before the views are read: eviction rebases them
      const views = new Array<CpuBuffer>(inputs.length);
      for (let i = 0; i < inputs.length; i++) views[i] = buffers[i].view;
      const places = into?.map((b) => b === undefined ? undefined : asBuffer(b).view);
      const h = heap();
      try {
        const outs = kernel(views, h, places);
        const owned = new Array<WasmBuffer>(outs.length);
        for (let i = 0; i < outs.length; i++) {
          owned[i] = outs[i] === places?.[i] ? into![i] as WasmBuffer : own(outs[i], buffers);
        }
        return owned;
      } finally {
        h.sweep();
      }
    };
    // A lone operation with a SIMD kernel runs that kernel on dense operands. Broadcast
    // operands go to generated code, which loops over short rows itself, and so does a result
    // to be written in place.
    if (lone && fastKernels.has(only.name) && only.out.dtype === "float32") {
      return (inputs, into) => {
        if (into?.[0] !== undefined) return generated(inputs, into);
        for (const a of only.args) {
          if (!asBuffer(inputs[a]).view.contiguous) return generated(inputs);
        }
        return [runLone(only, inputs)];
      };
    }
    return generated;
  },

  stats(): AllocatorStats {
    return heap().stats();
  },
};

// A fused spec's one operation, run by its kernel (an input read twice is passed once).
function runLone(op: FusedSpec["ops"][number], inputs: readonly unknown[]): WasmBuffer {
  return wasmBackend.run(op.name, op.args.map((a) => inputs[a]), op.params, op.out) as WasmBuffer;
}

// Shared memory and SIMD are what the kernels need; a runtime without them keeps the CPU.
function supported(): boolean {
  try {
    if (typeof SharedArrayBuffer !== "function") return false;
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    // A module whose one function returns a v128 constant validates only with SIMD.
    const probe = new ModuleBuilder();
    probe.addFunction("f", [], ["v128"], (f) => f.v128.const(new Uint8Array(16)));
    return WebAssembly.validate(probe.toBytes());
  } catch {
    return false;
  }
}

if (supported()) registerBackend(wasmBackend, { preferred: true });
