// The 16-bit float formats of checkpoints: IEEE half precision (F16: 5 exponent bits, 10
// mantissa bits) and bfloat16 (BF16: float32's 8 exponent bits, 7 mantissa bits). One pair of
// routines serves both; they differ only in their field widths.

/**
 * A 16-bit float format, named as in safetensors headers.
 *
 * @example
 * ```ts
 * import { fromHalfBits, type HalfFormat, toHalfBits } from "./_half.ts";
 * import assert from "node:assert/strict";
 * const format: HalfFormat = "BF16";
 * assert.deepEqual([...fromHalfBits(toHalfBits(new Float32Array([1.5]), format), format)], [1.5]);
 * ```
 */
export type HalfFormat = "F16" | "BF16";

const FIELDS: Record<HalfFormat, { exponent: number; mantissa: number }> = {
  F16: { exponent: 5, mantissa: 10 },
  BF16: { exponent: 8, mantissa: 7 },
};

function layout(format: HalfFormat) {
  const { exponent, mantissa } = FIELDS[format];
  const bias = 2 ** (exponent - 1) - 1;
  return {
    mantissa,
    maxExponent: 2 ** exponent - 1,
    bias,
    minExponent: 1 - bias, // of the smallest normal number
    infinity: (2 ** exponent - 1) << mantissa,
  };
}

/**
 * Rounds each value to the nearest `format` number, ties to even, and returns the bit
 * patterns. Values beyond the largest finite number round to infinity, tiny ones to subnormals
 * or zero (keeping the sign); infinities stay infinities and NaNs stay NaNs (with their sign and
 * leading payload bits). Float64 input is rounded once, from its own value.
 *
 * @example
 * ```ts
 * import { toHalfBits } from "./_half.ts";
 * import assert from "node:assert/strict";
 * const x = new Float32Array([1, -2, 65504, 65520, 2 ** -24, Infinity, NaN]);
 * const hex = (bits: Uint16Array) => [...bits].map((b) => b.toString(16));
 * assert.deepEqual(hex(toHalfBits(x, "F16")), ["3c00", "c000", "7bff", "7c00", "1", "7c00", "7e00"]);
 * assert.deepEqual(hex(toHalfBits(new Float64Array([1 + 2 ** -8]), "BF16")), ["3f80"]); // a tie: even
 * ```
 */
export function toHalfBits(values: Float32Array | Float64Array, format: HalfFormat): Uint16Array {
  const { mantissa, minExponent, infinity } = layout(format);
  const wide = values instanceof Float64Array;
  // The high word of each element: sign, exponent and leading mantissa bits, read exactly.
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length * (wide ? 2 : 1));
  const [fieldShift, bias] = wide ? [20, 1023] : [23, 127];
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const high = words[wide ? 2 * i + 1 : i];
    const sign = (high >>> 31) << 15;
    const v = Math.abs(values[i]);
    if (Number.isNaN(v)) {
      const payload = (high & ((1 << fieldShift) - 1)) >>> (fieldShift - mantissa);
      out[i] = sign | infinity | (payload || 1 << (mantissa - 1));
      continue;
    }
    // The exponent of the target's spacing at v: v's own, or the subnormals' (source
    // subnormals all lie far below the target's normal range).
    const e = Math.max(((high >>> fieldShift) & (2 * bias + 1)) - bias, minExponent);
    const scaled = v * 2 ** (mantissa - e); // exact: a power-of-two scaling of a normal number
    let rounded = Math.floor(scaled);
    const rest = scaled - rounded;
    if (rest > 0.5 || (rest === 0.5 && rounded % 2 === 1)) rounded++;
    // A carry out of the mantissa moves to the next exponent, past the largest to infinity.
    out[i] = sign | Math.min(((e - minExponent) << mantissa) + rounded, infinity);
  }
  return out;
}

/**
 * Widens `format` bit patterns to float32, exactly (every F16 and BF16 number is a float32
 * number; NaNs keep their sign and payload).
 *
 * @example
 * ```ts
 * import { fromHalfBits } from "./_half.ts";
 * import assert from "node:assert/strict";
 * const bits = new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0xfc00]);
 * assert.deepEqual([...fromHalfBits(bits, "F16")], [1, -2, 65504, 2 ** -24, -Infinity]);
 * assert.deepEqual([...fromHalfBits(new Uint16Array([0x3f80, 0x4049]), "BF16")], [1, 3.140625]);
 * ```
 */
export function fromHalfBits(bits: Uint16Array, format: HalfFormat): Float32Array {
  const { mantissa, maxExponent, bias, minExponent } = layout(format);
  const out = new Float32Array(bits.length);
  const words = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = h >>> 15;
    const exponent = (h >>> mantissa) & maxExponent;
    const m = h & ((1 << mantissa) - 1);
    if (exponent === 0) {
      out[i] = (sign ? -m : m) * 2 ** (minExponent - mantissa); // zero or subnormal
    } else {
      const e = exponent === maxExponent ? 255 : exponent - bias + 127;
      words[i] = ((sign << 31) | (e << 23) | (m << (23 - mantissa))) >>> 0;
    }
  }
  return out;
}
