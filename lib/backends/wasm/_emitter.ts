/**
 * A small WebAssembly binary emitter: enough of the format to generate compute kernels at run
 * time (types, an imported shared memory, functions with locals, structured control flow,
 * scalar/SIMD/relaxed-SIMD arithmetic) without a toolchain. Instruction methods are grouped
 * like the text format (`f.i32.add()`, `f.v128.load(16)`, `f.f32x4.relaxed_madd()`) so a kernel
 * reads like WAT, and branch targets are label objects so nobody counts nesting depths.
 *
 * @example
 * ```ts
 * import { ModuleBuilder } from "./_emitter.ts";
 * const mb = new ModuleBuilder();
 * mb.addFunction("add", ["i32", "i32"], ["i32"], (f) => {
 *   f.local.get(f.param(0)).local.get(f.param(1)).i32.add();
 * });
 * const { add } = new WebAssembly.Instance(new WebAssembly.Module(mb.toBytes())).exports as {
 *   add: (a: number, b: number) => number;
 * };
 * if (add(2, 3) !== 5) throw new Error("bad add");
 * ```
 *
 * @module
 */

/** A WebAssembly value type by its text-format name. */
export type ValType = "i32" | "i64" | "f32" | "f64" | "v128";

const VALTYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/**
 * Unsigned LEB128 encoding of a non-negative integer (u32 immediates, section sizes).
 *
 * @example
 * ```ts
 * import { uleb128 } from "./_emitter.ts";
 * console.log(uleb128(624485)); // [0xe5, 0x8e, 0x26]
 * ```
 */
export function uleb128(value: number | bigint): number[] {
  let v = BigInt(value);
  if (v < 0n) throw new RangeError(`uleb128: negative value ${value}`);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}

/**
 * Signed LEB128 encoding (i32/i64 constants).
 *
 * @example
 * ```ts
 * import { sleb128 } from "./_emitter.ts";
 * console.log(sleb128(-123456)); // [0xc0, 0xbb, 0x78]
 * ```
 */
export function sleb128(value: number | bigint): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n; // arithmetic shift on bigint keeps the sign
    const signBitSet = (byte & 0x40) !== 0;
    if ((v === 0n && !signBitSet) || (v === -1n && signBitSet)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function encodeString(s: string): number[] {
  const bytes = new TextEncoder().encode(s);
  return [...uleb128(bytes.length), ...bytes];
}

function encodeVector(items: number[][]): number[] {
  return [...uleb128(items.length), ...items.flat()];
}

/** A function local (parameters come first), as handed out by {@linkcode FunctionBuilder}. */
export interface Local {
  /** Index in the function's local space. */
  readonly index: number;
  /** Its value type. */
  readonly type: ValType;
}

/** A branch target created by `block`, `loop` or `if`; only valid inside its body. */
export interface Label {
  /** Nesting depth of the construct (0 = function body); used to compute relative depths. */
  readonly depth: number;
}

/** Memory access immediates: byte offset and alignment (log2, defaults to natural). */
type MemArg = [offset?: number, align?: number];

/**
 * Builds one function body. Instruction methods append bytes and return the builder so short
 * sequences chain; the grouped namespaces (`i32`, `f32`, `v128`, `f32x4`, ...) mirror WAT.
 * Usually obtained from {@linkcode ModuleBuilder.addFunction}.
 *
 * @example
 * ```ts
 * import { ModuleBuilder } from "./_emitter.ts";
 * const mb = new ModuleBuilder();
 * // (n) -> 0 + 1 + ... + (n - 1)
 * mb.addFunction("triangle", ["i32"], ["i32"], (f) => {
 *   const i = f.addLocal("i32"), sum = f.addLocal("i32");
 *   f.forRange(i, 0, f.param(0), 1, () => f.local.get(sum).local.get(i).i32.add().local.set(sum));
 *   f.local.get(sum);
 * });
 * const ex = new WebAssembly.Instance(new WebAssembly.Module(mb.toBytes())).exports;
 * console.log((ex.triangle as (n: number) => number)(5)); // 10
 * ```
 */
export class FunctionBuilder {
  /** The body's instruction bytes (without locals header and final `end`). */
  readonly code: number[] = [];
  readonly #params: ValType[];
  readonly #locals: ValType[] = [];
  #depth = 0;

  /** Creates a builder for a function with the given parameter types. */
  constructor(params: ValType[]) {
    this.#params = params;
  }

  /** The `i`-th parameter as a local. */
  param(i: number): Local {
    if (i < 0 || i >= this.#params.length) throw new RangeError(`no parameter ${i}`);
    return { index: i, type: this.#params[i] };
  }

  /** Declares a new local of type `type` (zero-initialised by Wasm). */
  addLocal(type: ValType): Local {
    this.#locals.push(type);
    return { index: this.#params.length + this.#locals.length - 1, type };
  }

  /** Appends raw bytes (escape hatch for opcodes the builder does not name). */
  emit(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }

  #mem(op: number[], natural: number, [offset = 0, align = natural]: MemArg): this {
    return this.emit(...op, ...uleb128(align), ...uleb128(offset));
  }

  #simd(op: number): number[] {
    return [0xfd, ...uleb128(op)];
  }

  #structured(op: number, body: (label: Label) => void): this {
    this.emit(op, 0x40); // 0x40: empty block type (no params, no results)
    this.#depth++;
    body({ depth: this.#depth });
    this.#depth--;
    return this.emit(0x0b);
  }

  #relative(label: Label): number {
    const rel = this.#depth - label.depth;
    if (rel < 0) throw new Error("branch to a label outside its construct");
    return rel;
  }

  /** `block ... end`; `br(label)` inside jumps past the end. */
  block(body: (label: Label) => void): this {
    return this.#structured(0x02, body);
  }
  /** `loop ... end`; `br(label)` inside jumps back to the start. */
  loop(body: (label: Label) => void): this {
    return this.#structured(0x03, body);
  }
  /**
   * `if ... (else ...) end` on the i32 on the stack; with `result`, both arms leave one value
   * of that type (an expression `cond ? x : y` that only evaluates the chosen arm).
   */
  if(then: (label: Label) => void, otherwise?: (label: Label) => void, result?: ValType): this {
    this.emit(0x04, result === undefined ? 0x40 : VALTYPE[result]);
    const label = { depth: ++this.#depth };
    then(label);
    if (otherwise) {
      this.emit(0x05);
      otherwise(label);
    }
    this.#depth--;
    return this.emit(0x0b);
  }
  /** Unconditional branch to `label`. */
  br(label: Label): this {
    return this.emit(0x0c, ...uleb128(this.#relative(label)));
  }
  /** Branch to `label` if the i32 on the stack is non-zero. */
  brIf(label: Label): this {
    return this.emit(0x0d, ...uleb128(this.#relative(label)));
  }
  /** Return from the function. */
  return(): this {
    return this.emit(0x0f);
  }
  /** Call function `index`. */
  call(index: number): this {
    return this.emit(0x10, ...uleb128(index));
  }
  /** Drop the top of the stack. */
  drop(): this {
    return this.emit(0x1a);
  }
  /** `select`: pick one of two values by an i32 condition. */
  select(): this {
    return this.emit(0x1b);
  }

  /**
   * Counted loop helper: `for (i = start; i < end; i += step) body()` with i32 locals/constants.
   * The condition is checked before the first iteration, so empty ranges run nothing.
   */
  forRange(
    i: Local,
    start: Local | number,
    end: Local | number,
    step: number,
    body: () => void,
  ): this {
    const push = (v: Local | number) =>
      typeof v === "number" ? this.i32.const(v) : this.local.get(v);
    push(start).local.set(i);
    return this.block((exit) => {
      this.loop((top) => {
        this.local.get(i);
        push(end).i32.ge_s().brIf(exit);
        body();
        this.local.get(i).i32.const(step).i32.add().local.set(i).br(top);
      });
    });
  }

  /** Local access. */
  readonly local = {
    get: (l: Local): this => this.emit(0x20, ...uleb128(l.index)),
    set: (l: Local): this => this.emit(0x21, ...uleb128(l.index)),
    tee: (l: Local): this => this.emit(0x22, ...uleb128(l.index)),
  };

  /** i32 instructions. */
  readonly i32 = {
    const: (v: number): this => this.emit(0x41, ...sleb128(v | 0)),
    load: (...m: MemArg): this => this.#mem([0x28], 2, m),
    /** Loads one byte, zero-extended. */
    load8_u: (...m: MemArg): this => this.#mem([0x2d], 0, m),
    store: (...m: MemArg): this => this.#mem([0x36], 2, m),
    eqz: (): this => this.emit(0x45),
    eq: (): this => this.emit(0x46),
    ne: (): this => this.emit(0x47),
    lt_s: (): this => this.emit(0x48),
    lt_u: (): this => this.emit(0x49),
    gt_s: (): this => this.emit(0x4a),
    gt_u: (): this => this.emit(0x4b),
    le_s: (): this => this.emit(0x4c),
    le_u: (): this => this.emit(0x4d),
    ge_s: (): this => this.emit(0x4e),
    ge_u: (): this => this.emit(0x4f),
    add: (): this => this.emit(0x6a),
    sub: (): this => this.emit(0x6b),
    mul: (): this => this.emit(0x6c),
    div_s: (): this => this.emit(0x6d),
    div_u: (): this => this.emit(0x6e),
    rem_s: (): this => this.emit(0x6f),
    and: (): this => this.emit(0x71),
    or: (): this => this.emit(0x72),
    shl: (): this => this.emit(0x74),
    shr_s: (): this => this.emit(0x75),
    shr_u: (): this => this.emit(0x76),
  };

  /** f32 scalar instructions. */
  readonly f32 = {
    const: (v: number): this => {
      const bytes = new Uint8Array(new Float32Array([v]).buffer); // little-endian IEEE 754
      return this.emit(0x43, ...bytes);
    },
    load: (...m: MemArg): this => this.#mem([0x2a], 2, m),
    store: (...m: MemArg): this => this.#mem([0x38], 2, m),
    abs: (): this => this.emit(0x8b),
    neg: (): this => this.emit(0x8c),
    add: (): this => this.emit(0x92),
    sub: (): this => this.emit(0x93),
    mul: (): this => this.emit(0x94),
    div: (): this => this.emit(0x95),
    /** Minimum; NaN if either operand is NaN, and -0 < +0 (like `Math.min`). */
    min: (): this => this.emit(0x96),
    max: (): this => this.emit(0x97),
    /** Rounds the f64 on the stack to the nearest f32. */
    demote_f64: (): this => this.emit(0xb6),
  };

  /** f64 scalar instructions. */
  readonly f64 = {
    const: (v: number): this => {
      const bytes = new Uint8Array(new Float64Array([v]).buffer); // little-endian IEEE 754
      return this.emit(0x44, ...bytes);
    },
    load: (...m: MemArg): this => this.#mem([0x2b], 3, m),
    store: (...m: MemArg): this => this.#mem([0x39], 3, m),
    abs: (): this => this.emit(0x99),
    neg: (): this => this.emit(0x9a),
    add: (): this => this.emit(0xa0),
    sub: (): this => this.emit(0xa1),
    mul: (): this => this.emit(0xa2),
    div: (): this => this.emit(0xa3),
    min: (): this => this.emit(0xa4),
    max: (): this => this.emit(0xa5),
    /** Widens the f32 on the stack (exactly). */
    promote_f32: (): this => this.emit(0xbb),
  };

  /** v128 memory and constant instructions (0xFD prefix). */
  readonly v128 = {
    load: (...m: MemArg): this => this.#mem(this.#simd(0x00), 4, m),
    load32_splat: (...m: MemArg): this => this.#mem(this.#simd(0x09), 2, m),
    load32_zero: (...m: MemArg): this => this.#mem(this.#simd(0x5c), 2, m),
    load64_zero: (...m: MemArg): this => this.#mem(this.#simd(0x5d), 3, m),
    store: (...m: MemArg): this => this.#mem(this.#simd(0x0b), 4, m),
    /** Stores lane `lane` of the vector on the stack as 32 bits. */
    store32_lane: (lane: number, ...m: MemArg): this =>
      this.#mem(this.#simd(0x5a), 2, m).emit(lane),
    /** Stores the low (lane 0) or high (lane 1) 64 bits. */
    store64_lane: (lane: number, ...m: MemArg): this =>
      this.#mem(this.#simd(0x5b), 3, m).emit(lane),
    const: (bytes: ArrayLike<number>): this => {
      if (bytes.length !== 16) throw new RangeError("v128.const needs 16 bytes");
      return this.emit(...this.#simd(0x0c), ...Array.from(bytes));
    },
    not: (): this => this.emit(...this.#simd(0x4d)),
    and: (): this => this.emit(...this.#simd(0x4e)),
    andnot: (): this => this.emit(...this.#simd(0x4f)),
    or: (): this => this.emit(...this.#simd(0x50)),
    xor: (): this => this.emit(...this.#simd(0x51)),
    /** `(v1 & c) | (v2 & ~c)` (stack: v1 v2 c). */
    bitselect: (): this => this.emit(...this.#simd(0x52)),
  };

  /** i32x4 instructions (int32 lanes, and exponent arithmetic of the float kernels). */
  readonly i32x4 = {
    splat: (): this => this.emit(...this.#simd(0x11)),
    eq: (): this => this.emit(...this.#simd(0x37)),
    ne: (): this => this.emit(...this.#simd(0x38)),
    lt_s: (): this => this.emit(...this.#simd(0x39)),
    gt_s: (): this => this.emit(...this.#simd(0x3b)),
    le_s: (): this => this.emit(...this.#simd(0x3d)),
    ge_s: (): this => this.emit(...this.#simd(0x3f)),
    abs: (): this => this.emit(...this.#simd(0xa0)),
    neg: (): this => this.emit(...this.#simd(0xa1)),
    mul: (): this => this.emit(...this.#simd(0xb5)),
    min_s: (): this => this.emit(...this.#simd(0xb6)),
    max_s: (): this => this.emit(...this.#simd(0xb8)),
    shl: (): this => this.emit(...this.#simd(0xab)),
    shr_s: (): this => this.emit(...this.#simd(0xac)),
    add: (): this => this.emit(...this.#simd(0xae)),
    sub: (): this => this.emit(...this.#simd(0xb1)),
    trunc_sat_f32x4_s: (): this => this.emit(...this.#simd(0xf8)),
    /** Widens the low four u16 lanes to u32 lanes. */
    extend_low_i16x8_u: (): this => this.emit(...this.#simd(0xa9)),
  };

  /** i16x8 instructions (widening bytes, narrowing words). */
  readonly i16x8 = {
    /** Widens the low eight u8 lanes to u16 lanes. */
    extend_low_i8x16_u: (): this => this.emit(...this.#simd(0x89)),
    /** Narrows the i32 lanes of two vectors to eight i16 lanes, saturating. */
    narrow_i32x4_s: (): this => this.emit(...this.#simd(0x85)),
  };

  /** i8x16 instructions (shuffles for transposes, narrowing to bytes). */
  readonly i8x16 = {
    /** Narrows the i16 lanes of two vectors to sixteen i8 lanes, saturating. */
    narrow_i16x8_s: (): this => this.emit(...this.#simd(0x65)),
    /** Picks 16 bytes from two vectors by the given lane indices (0..31). */
    shuffle: (lanes: number[]): this => {
      if (lanes.length !== 16) throw new RangeError("i8x16.shuffle needs 16 lane indices");
      return this.emit(...this.#simd(0x0d), ...lanes);
    },
  };

  /** f32x4 instructions, including the relaxed fused multiply-add. */
  readonly f32x4 = {
    splat: (): this => this.emit(...this.#simd(0x13)),
    extract_lane: (lane: number): this => this.emit(...this.#simd(0x1f), lane),
    replace_lane: (lane: number): this => this.emit(...this.#simd(0x20), lane),
    add: (): this => this.emit(...this.#simd(0xe4)),
    sub: (): this => this.emit(...this.#simd(0xe5)),
    mul: (): this => this.emit(...this.#simd(0xe6)),
    div: (): this => this.emit(...this.#simd(0xe7)),
    abs: (): this => this.emit(...this.#simd(0xe0)),
    neg: (): this => this.emit(...this.#simd(0xe1)),
    sqrt: (): this => this.emit(...this.#simd(0xe3)),
    /** Lanewise minimum; NaN if either lane is NaN, and -0 < +0 (like `Math.min`). */
    min: (): this => this.emit(...this.#simd(0xe8)),
    max: (): this => this.emit(...this.#simd(0xe9)),
    /** Pseudo-minimum `b < a ? b : a` (one x86 instruction; NaN in `a` passes through). */
    pmin: (): this => this.emit(...this.#simd(0xea)),
    /** Pseudo-maximum `a < b ? b : a`. */
    pmax: (): this => this.emit(...this.#simd(0xeb)),
    nearest: (): this => this.emit(...this.#simd(0x6a)),
    eq: (): this => this.emit(...this.#simd(0x41)),
    ne: (): this => this.emit(...this.#simd(0x42)),
    lt: (): this => this.emit(...this.#simd(0x43)),
    gt: (): this => this.emit(...this.#simd(0x44)),
    le: (): this => this.emit(...this.#simd(0x45)),
    ge: (): this => this.emit(...this.#simd(0x46)),
    convert_i32x4_s: (): this => this.emit(...this.#simd(0xfa)),
    /** Rounds the two f64 lanes to f32 lanes 0 and 1; lanes 2 and 3 become +0. */
    demote_f64x2_zero: (): this => this.emit(...this.#simd(0x5e)),
    /** `a * b + c` (stack: a b c), fused or not at the engine's choice (relaxed SIMD). */
    relaxed_madd: (): this => this.emit(...this.#simd(0x105)),
  };

  /** f64x2 instructions (float64 accumulation of float32 data). */
  readonly f64x2 = {
    splat: (): this => this.emit(...this.#simd(0x14)),
    extract_lane: (lane: number): this => this.emit(...this.#simd(0x21), lane),
    replace_lane: (lane: number): this => this.emit(...this.#simd(0x22), lane),
    add: (): this => this.emit(...this.#simd(0xf0)),
    sub: (): this => this.emit(...this.#simd(0xf1)),
    mul: (): this => this.emit(...this.#simd(0xf2)),
    div: (): this => this.emit(...this.#simd(0xf3)),
    min: (): this => this.emit(...this.#simd(0xf4)),
    max: (): this => this.emit(...this.#simd(0xf5)),
    /** Widens f32 lanes 0 and 1 of the vector on the stack to two f64 lanes (exactly). */
    promote_low_f32x4: (): this => this.emit(...this.#simd(0x5f)),
  };

  /** The encoded body: local declarations (run-length grouped), instructions, `end`. */
  encode(): number[] {
    const groups: number[][] = [];
    for (let i = 0; i < this.#locals.length;) {
      let j = i;
      while (j < this.#locals.length && this.#locals[j] === this.#locals[i]) j++;
      groups.push([...uleb128(j - i), VALTYPE[this.#locals[i]]]);
      i = j;
    }
    const body = [...encodeVector(groups), ...this.code, 0x0b];
    return [...uleb128(body.length), ...body];
  }
}

/** Limits of an imported memory, in 64 KiB pages. */
export interface MemoryLimits {
  /** Initial size in pages. */
  initial: number;
  /** Maximum size in pages (required for shared memories). */
  maximum?: number;
  /** Whether the memory is shared between threads. */
  shared?: boolean;
}

interface FunctionEntry {
  typeIndex: number;
  builder: FunctionBuilder;
}

/**
 * Assembles a module: function types (deduplicated), at most one imported memory, imported
 * functions, functions and their exports. Functions are numbered in the order they are
 * imported or added (Wasm numbers imports first, so every import must come before the first
 * added function), and a kernel can call a helper or an import added before it.
 *
 * @example
 * ```ts
 * import { ModuleBuilder } from "./_emitter.ts";
 * const mb = new ModuleBuilder().importMemory("env", "memory", {
 *   initial: 1,
 *   maximum: 1,
 *   shared: true,
 * });
 * // scale(p, s): four floats at byte p multiplied by s, with one SIMD multiply
 * mb.addFunction("scale", ["i32", "f32"], [], (f) => {
 *   const p = f.param(0);
 *   f.local.get(p).local.get(p).v128.load().local.get(f.param(1)).f32x4.splat().f32x4.mul();
 *   f.v128.store();
 * });
 * console.log(WebAssembly.validate(mb.toBytes())); // true
 * ```
 */
export class ModuleBuilder {
  readonly #types: string[] = [];
  readonly #functions: FunctionEntry[] = [];
  readonly #exports: number[][] = [];
  readonly #functionImports: number[][] = [];
  #memoryImport: number[] | undefined;

  /** Imports a memory as `module.name` (e.g. `env.memory`). */
  importMemory(module: string, name: string, limits: MemoryLimits): this {
    const { initial, maximum, shared = false } = limits;
    if (shared && maximum === undefined) throw new Error("a shared memory needs a maximum");
    const flags = (maximum !== undefined ? 1 : 0) | (shared ? 2 : 0);
    const lim = [flags, ...uleb128(initial), ...(maximum !== undefined ? uleb128(maximum) : [])];
    this.#memoryImport = [...encodeString(module), ...encodeString(name), 0x02, ...lim];
    return this;
  }

  /**
   * Imports a host function as `module.name` (e.g. `env.log` bound to `Math.log`) and returns
   * its function index for `call`. Must precede every {@linkcode ModuleBuilder.addFunction}.
   */
  importFunction(module: string, name: string, params: ValType[], results: ValType[]): number {
    if (this.#functions.length > 0) {
      throw new Error(`import ${module}.${name}: functions must be imported before any is added`);
    }
    const type = uleb128(this.#typeIndex(params, results));
    return this.#functionImports.push([
      ...encodeString(module),
      ...encodeString(name),
      0x00,
      ...type,
    ]) -
      1;
  }

  #typeIndex(params: ValType[], results: ValType[]): number {
    const key = `${params.join(",")}->${results.join(",")}`;
    let i = this.#types.indexOf(key);
    if (i < 0) i = this.#types.push(key) - 1;
    return i;
  }

  /**
   * Adds a function whose body `build` writes; exports it as `name` unless `name` is
   * undefined. Returns its function index.
   */
  addFunction(
    name: string | undefined,
    params: ValType[],
    results: ValType[],
    build: (f: FunctionBuilder) => void,
  ): number {
    const builder = new FunctionBuilder(params);
    build(builder);
    const index = this.#functionImports.length +
      this.#functions.push({ typeIndex: this.#typeIndex(params, results), builder }) - 1;
    if (name !== undefined) this.#exports.push([...encodeString(name), 0x00, ...uleb128(index)]);
    return index;
  }

  /** The binary module. */
  toBytes(): Uint8Array<ArrayBuffer> {
    const section = (id: number, payload: number[]): number[] =>
      payload.length === 0 ? [] : [id, ...uleb128(payload.length), ...payload];
    const types = this.#types.map((key) => {
      const [p, r] = key.split("->").map((s) => (s ? s.split(",") as ValType[] : []));
      return [
        0x60,
        ...encodeVector(p.map((t) => [VALTYPE[t]])),
        ...encodeVector(
          r.map((t) => [VALTYPE[t]]),
        ),
      ];
    });
    const fns = this.#functions;
    const imports = [...(this.#memoryImport ? [this.#memoryImport] : []), ...this.#functionImports];
    const bytes = [
      ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
      ...section(1, types.length ? encodeVector(types) : []),
      ...section(2, imports.length ? encodeVector(imports) : []),
      ...section(3, fns.length ? encodeVector(fns.map((f) => uleb128(f.typeIndex))) : []),
      ...section(7, this.#exports.length ? encodeVector(this.#exports) : []),
      ...section(10, fns.length ? encodeVector(fns.map((f) => f.builder.encode())) : []),
    ];
    return new Uint8Array(bytes);
  }
}
