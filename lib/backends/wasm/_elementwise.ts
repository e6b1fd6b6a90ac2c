/**
 * Elementwise float32 kernels in WebAssembly SIMD (four lanes per instruction) on a
 * {@linkcode WasmContext}'s memory: `add sub mul div max min` (dense operands or one broadcast
 * scalar) and `neg exp tanh sigmoid`. The generated module and its numerics are described in
 * `_elementwise_module.ts`; big inputs are split across the context's threads.
 *
 * Kernels work on whole vectors: `n` elements touch `4·⌈n/4⌉`, so buffers are allocated
 * rounded up to 16 bytes (the allocator's blocks are 64-byte aligned). The output may be the
 * (dense) input buffer itself.
 *
 * @example
 * ```ts
 * import { WasmContext } from "./_context.ts";
 * import { elementwiseKernels } from "./_elementwise.ts";
 * const ctx = new WasmContext({ threads: 1 });
 * const k = elementwiseKernels(ctx);
 * const p = ctx.heap.alloc(16);
 * ctx.heap.f32().set([0, 1, -1, 100], p / 4);
 * k.unary("exp", p, p, 4);
 * console.log(ctx.heap.f32()[p / 4 + 1]); // 2.7182817459106445 (Math.fround(Math.E))
 * ```
 *
 * @module
 */

import { defaultWasmContext, type MapSplit, type WasmContext } from "./_context.ts";
import { type BinaryMode, WASM_BINARY, WASM_UNARY } from "./_elementwise_module.ts";

type Fn = (...args: number[]) => void;

// Work of at least this many elements (1 MiB of float32) is split across the context's
// threads; below it, the hand-off and the waiting threads' spinning cost about what the split
// saves.
const PARALLEL_ELEMENTS = 1 << 18;

// A kernel over `bytes` bytes cut into whole 16-byte vectors; the byte count is the last
// argument.
function vectors(bytes: number, steps: number[]): MapSplit {
  return { units: bytes / 16, steps, countAt: steps.length - 1, scale: 16 };
}

/**
 * The compiled kernels on one context's memory. Pointers are byte offsets in that memory;
 * `n` elements are processed as `⌈n/4⌉` whole vectors (see the module notes).
 */
export class ElementwiseKernels {
  /** The context whose memory the kernels work in. */
  readonly ctx: WasmContext;
  readonly #fns: Record<string, Fn>;

  /** The kernels of `ctx`'s elementwise module (compiled with the context, on every thread). */
  constructor(ctx: WasmContext) {
    this.ctx = ctx;
    this.#fns = ctx.kernels("elementwise");
  }

  /** `o[i] = op(x[i])` for `n` elements (`o` may be `x`). */
  unary(op: string, x: number, o: number, n: number): void {
    const fn = WASM_UNARY.includes(op) ? this.#fns[op] : undefined;
    if (!fn) throw new Error(`no wasm kernel for "${op}"`);
    this.#check(x, n);
    this.#check(o, n);
    const bytes = 4 * (n + 3 & ~3);
    if (n < PARALLEL_ELEMENTS) fn(x, o, bytes);
    else this.ctx.map("elementwise", op, [x, o, bytes], vectors(bytes, [16, 16, 0]));
  }

  /**
   * `o[i] = a[i] op b[i]` for `n` elements; with `mode` "sv" `a` is one scalar, with "vs" `b`
   * is (`o` may be a dense operand).
   */
  binary(op: string, a: number, b: number, o: number, n: number, mode: BinaryMode = "vv"): void {
    const fn = WASM_BINARY.includes(op) ? this.#fns[`${op}_${mode}`] : undefined;
    if (!fn) throw new Error(`no wasm kernel for "${op}" (${mode})`);
    this.#check(a, mode === "sv" ? 1 : n);
    this.#check(b, mode === "vs" ? 1 : n);
    this.#check(o, n);
    const bytes = 4 * (n + 3 & ~3);
    if (n < PARALLEL_ELEMENTS) fn(a, b, o, bytes);
    else {
      const steps = [mode === "sv" ? 0 : 16, mode === "vs" ? 0 : 16, 16, 0];
      this.ctx.map("elementwise", `${op}_${mode}`, [a, b, o, bytes], vectors(bytes, steps));
    }
  }

  #check(ptr: number, n: number): void {
    const end = ptr + 4 * (n + 3 & ~3);
    if (!Number.isInteger(ptr) || ptr < 0 || end > this.ctx.memory.buffer.byteLength) {
      throw new RangeError(`elementwise: ${n} floats at byte ${ptr} are outside the memory`);
    }
  }
}

const cache = new WeakMap<WasmContext, ElementwiseKernels>();

/** The kernels on `ctx` (default: the process-wide context), compiled once per context. */
export function elementwiseKernels(ctx: WasmContext = defaultWasmContext()): ElementwiseKernels {
  let k = cache.get(ctx);
  if (k === undefined) cache.set(ctx, k = new ElementwiseKernels(ctx));
  return k;
}
