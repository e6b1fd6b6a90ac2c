/**
 * Data types, their storage, and JAX-style type promotion with weak JS numbers.
 *
 * @module
 */

/** The element type of a tensor. `float64` runs on the CPU only. */
export type DType = "float32" | "float64" | "int32" | "bool";

/** The typed array that stores each dtype. */
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/** Every dtype, in promotion order (later wins). */
export const DTYPES: readonly DType[] = ["bool", "int32", "float32", "float64"];

/**
 * Creates a zero-filled typed array for a dtype.
 *
 * @example
 * ```ts
 * import { allocate } from "./dtype.ts";
 * import assert from "node:assert/strict";
 * assert.ok(allocate("int32", 3) instanceof Int32Array);
 * ```
 */
export function allocate(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(size);
    case "float64":
      return new Float64Array(size);
    case "int32":
      return new Int32Array(size);
    case "bool":
      return new Uint8Array(size);
  }
}

/**
 * The bytes one element of a dtype takes.
 *
 * @example
 * ```ts
 * import { itemSize } from "./dtype.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(["float64", "float32", "int32", "bool"].map((d) => itemSize(d as never)), [8, 4, 4, 1]);
 * ```
 */
export function itemSize(dtype: DType): number {
  return dtype === "float64" ? 8 : dtype === "bool" ? 1 : 4;
}

/**
 * The dtype a typed array stores (a plain `Uint8Array` is read as `bool`).
 *
 * @example
 * ```ts
 * import { dtypeOfArray } from "./dtype.ts";
 * import assert from "node:assert/strict";
 * assert.equal(dtypeOfArray(new Float64Array(2)), "float64");
 * ```
 */
export function dtypeOfArray(data: TypedArray): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Int32Array) return "int32";
  return "bool";
}

/**
 * Whether a dtype is floating point (and so differentiable).
 *
 * @example
 * ```ts
 * import { isFloat } from "./dtype.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isFloat("float32") && !isFloat("int32"));
 * ```
 */
export function isFloat(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64";
}

/**
 * Whether a string names a dtype.
 *
 * @example
 * ```ts
 * import { isDType } from "./dtype.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isDType("bool") && !isDType("float16"));
 * ```
 */
export function isDType(value: unknown): value is DType {
  return typeof value === "string" && (DTYPES as readonly string[]).includes(value);
}

/** A dtype, or the "weak" type of a plain JS number or boolean that adapts to its partner. */
export type PromotionInput = DType | "weakInt" | "weakFloat";

/**
 * The common dtype of operands, following JAX with weak JS numbers: a number keeps a tensor's
 * dtype (`x.mul(2)`), except that a fractional number makes integers float32; int32 with
 * float32 gives float32; bool with int32 gives int32.
 *
 * @example
 * ```ts
 * import { promoteTypes } from "./dtype.ts";
 * import assert from "node:assert/strict";
 * assert.equal(promoteTypes(["int32", "float32"]), "float32");
 * assert.equal(promoteTypes(["int32", "weakFloat"]), "float32");
 * assert.equal(promoteTypes(["float64", "weakFloat"]), "float64");
 * ```
 */
export function promoteTypes(types: readonly PromotionInput[]): DType {
  let strong: DType | null = null;
  let weak: "weakInt" | "weakFloat" | null = null;
  for (let i = 0; i < types.length; i++) {
    const t = types[i];
    if (t === "weakInt" || t === "weakFloat") {
      if (weak !== "weakFloat") weak = t;
    } else if (strong === null || DTYPES.indexOf(t) > DTYPES.indexOf(strong)) {
      strong = t;
    }
  }
  if (strong === null) return weak === "weakInt" ? "int32" : "float32";
  if (weak === "weakFloat" && !isFloat(strong)) return "float32";
  if (weak === "weakInt" && strong === "bool") return "int32";
  return strong;
}
