/**
 * NumPy's printing of arrays, for tensors: `tensor([[1, 2],\n        [3, 4]], dtype=int32)`.
 * Elements are aligned in columns; floats share one layout, positional or scientific (when
 * magnitudes differ by more than 10³ or leave [10⁻⁴, 10⁸), 10⁶ for float32), with the
 * shortest digits that read back, at most 8 after the point; lines wrap at 75 characters;
 * tensors of more than 1000 elements show three items at each end of every axis around `...`.
 * As NumPy omits float64, float32 goes without its dtype.
 *
 * @module
 */

import type { DType, TypedArray } from "./dtype.ts";
import { type Shape, sizeOf, stridesOf } from "./shape.ts";

const LINE_WIDTH = 75;
const THRESHOLD = 1000;
const EDGE_ITEMS = 3;
// Most fractional digits of a float (positional) or of its mantissa (scientific).
const PRECISION = 8;
const PREFIX = "tensor(";

/** Options of {@linkcode formatTensor}. */
export interface FormatOptions {
  /**
   * Name the device, and the shape and dtype whatever they are (the inspection form);
   * otherwise the shape is named only when summarised or empty, the dtype unless float32.
   */
  device?: string;
}

/**
 * Formats row-major values of `shape` as NumPy's `repr` does, with `tensor(` for `array(`.
 *
 * @example
 * ```ts
 * import { formatTensor } from "./_format.ts";
 * console.log(formatTensor(new Int32Array([1, 2, 3, 4]), [2, 2], "int32"));
 * // tensor([[1, 2],
 * //         [3, 4]], dtype=int32)
 * ```
 */
export function formatTensor(
  data: TypedArray,
  shape: Shape,
  dtype: DType,
  options: FormatOptions = {},
): string {
  const size = sizeOf(shape);
  const summarise = size > THRESHOLD;
  const body = size === 0 && shape.length > 0 ? "[]" : layout(data, shape, dtype, summarise);
  const extras: string[] = [];
  const all = options.device !== undefined;
  if (all || summarise || (size === 0 && !(shape.length === 1 && shape[0] === 0))) {
    extras.push(`shape=[${shape.join(", ")}]`);
  }
  if (all || dtype !== "float32" || size === 0) extras.push(`dtype=${dtype}`);
  if (all) extras.push(`device=${options.device}`);
  if (extras.length === 0) return `${PREFIX}${body})`;
  const head = `${PREFIX}${body},`, tail = `${extras.join(", ")})`;
  const lastLine = head.length - (head.lastIndexOf("\n") + 1);
  const spacer = lastLine + tail.length + 1 > LINE_WIDTH ? `\n${" ".repeat(PREFIX.length)}` : " ";
  return head + spacer + tail;
}

// The nested brackets, as NumPy's `_formatArray`: rows of the last axis wrap at the line
// width, each further axis adds a line break between its items, and a summarised axis shows
// its edge items around "...".
function layout(data: TypedArray, shape: Shape, dtype: DType, summarise: boolean): string {
  const strides = stridesOf(shape);
  const shown = (axis: number): number[] => {
    const n = shape[axis];
    const all = Array.from({ length: n }, (_, i) => i);
    if (!summarise || n <= 2 * EDGE_ITEMS) return all;
    return [...all.slice(0, EDGE_ITEMS), -1, ...all.slice(n - EDGE_ITEMS)];
  };
  const axes = shape.map((_, axis) => shown(axis));
  // The format depends on the printed elements only.
  const printed: number[] = [];
  const collect = (axis: number, offset: number): void => {
    if (axis === shape.length) {
      printed.push(data[offset]);
      return;
    }
    for (const i of axes[axis]) if (i >= 0) collect(axis + 1, offset + i * strides[axis]);
  };
  collect(0, 0);
  const word = formatter(printed, dtype);

  const recurse = (axis: number, offset: number, indent: string, width: number): string => {
    if (axis === shape.length) return word(data[offset]);
    const inner = indent + " ";
    const item = (i: number) => recurse(axis + 1, offset + i * strides[axis], inner, width - 1);
    let s = "";
    if (axis === shape.length - 1) {
      const elementWidth = width - 1; // room for the separator or the closing bracket
      let line = indent;
      const extend = (w: string) => {
        // Wrapping never helps while the line holds the indent alone.
        if (line.length + w.length > elementWidth && line.length > indent.length) {
          s += line.trimEnd() + "\n";
          line = indent;
        }
        line += w;
      };
      axes[axis].forEach((i, k) => {
        extend(i < 0 ? "..." : item(i));
        if (k < axes[axis].length - 1) line += ", ";
      });
      s += line;
    } else {
      const separator = "," + "\n".repeat(shape.length - axis - 1);
      s = axes[axis].map((i) => indent + (i < 0 ? "..." : item(i))).join(separator);
    }
    return "[" + s.slice(indent.length) + "]";
  };
  // The first line starts after "tensor(", the closing ")" takes one column.
  return recurse(0, 0, " ".repeat(PREFIX.length + 1), LINE_WIDTH - 1);
}

// The largest of `values` and `floor` (no spread: a summarised tensor prints 6ⁿ elements).
function largest(values: readonly number[], floor = 0): number {
  let m = floor;
  for (const v of values) if (v > m) m = v;
  return m;
}

// One element's text, padded to the common width of `printed`.
function formatter(printed: readonly number[], dtype: DType): (v: number) => string {
  if (dtype === "bool" || dtype === "int32") {
    const text = dtype === "bool" ? (v: number) => (v ? "true" : "false") : String;
    const width = largest(printed.map((v) => text(v).length));
    return (v) => text(v).padStart(width);
  }
  return floatFormatter(printed, dtype);
}

// |v| = d₁.d₂d₃… × 10^exponent.
interface Digits {
  digits: string;
  exponent: number;
}

// |v| rounded to `n` significant digits, ties to even as NumPy's Dragon4 rounds (`toFixed` and
// `toExponential` round ties up). 100 digits tell a tie from a near one for any float.
function rounded(v: number, n: number): Digits {
  const [mantissa, e] = Math.abs(v).toExponential(99).split("e");
  const all = mantissa.replace(".", "");
  let digits = all.slice(0, n), exponent = Number(e);
  const next = all[n], beyond = /[1-9]/.test(all.slice(n + 1));
  if (next > "5" || (next === "5" && (beyond || Number(digits.at(-1)) % 2 === 1))) {
    const up = String(BigInt(digits) + 1n);
    if (up.length > n) exponent++;
    digits = up.slice(0, n);
  }
  return { digits, exponent };
}

// The fewest significant digits of |v| that read back as `v` in its dtype (JS's own shortest
// form for float64, which also breaks ties to even).
function shortest(v: number, dtype: DType): Digits {
  if (dtype === "float32") {
    for (let n = 1; n < 9; n++) {
      const r = rounded(v, n);
      if (Math.fround(Number(`${r.digits}e${r.exponent - n + 1}`)) === Math.abs(v)) return r;
    }
    return rounded(v, 9);
  }
  const [mantissa, e] = Math.abs(v).toExponential().split("e");
  return { digits: mantissa.replace(".", ""), exponent: Number(e) };
}

// NumPy's `FloatingFormat` (floatmode "maxprec"): one layout for all printed elements.
function floatFormatter(printed: readonly number[], dtype: DType): (v: number) => string {
  const finite = printed.filter(Number.isFinite);
  const magnitudes = finite.filter((v) => v !== 0).map(Math.abs);
  const max = largest(magnitudes), min = -largest(magnitudes.map((m) => -m), -Infinity);
  // NumPy ≥ 2.3: past 10⁶ a float32 has no digit left for a fraction.
  const big = dtype === "float32" ? 1e6 : 1e8;
  const scientific = magnitudes.length > 0 && (max >= big || min < 1e-4 || max / min > 1e3);
  const sign = (v: number) => (v < 0 || Object.is(v, -0) ? "-" : "");

  let padLeft = 0, padRight = 0;
  let finiteText: (v: number) => string;
  if (scientific) {
    // Mantissas have the fraction digits of the longest shortest one (at most PRECISION),
    // the others continued with the digits of their exact value.
    const parts = finite.map((v) => {
      const p = shortest(v, dtype);
      if (p.digits.length <= PRECISION + 1) return p;
      const r = rounded(v, PRECISION + 1);
      return { digits: r.digits.replace(/0+$/, ""), exponent: r.exponent };
    });
    const fraction = largest(parts.map((p) => p.digits.length - 1));
    const expDigits = largest(parts.map((p) => String(Math.abs(p.exponent)).length), 2);
    padLeft = largest(finite.map((v) => sign(v).length + 1));
    padRight = fraction + 2 + expDigits;
    finiteText = (v) => {
      const { digits, exponent } = rounded(v, fraction + 1);
      const e = String(Math.abs(exponent)).padStart(expDigits, "0");
      const mantissa = `${sign(v)}${digits[0]}.${digits.slice(1)}`;
      return `${mantissa.padStart(padLeft + 1 + fraction)}e${exponent < 0 ? "-" : "+"}${e}`;
    };
  } else {
    // Each value with its shortest digits, at most PRECISION after the point.
    const positional = (v: number): [string, string] => {
      let { digits, exponent } = shortest(v, dtype);
      if (digits.length - 1 - exponent > PRECISION) {
        ({ digits, exponent } = rounded(v, exponent + 1 + PRECISION));
        digits = digits.replace(/0+$/, "") || "0";
      }
      if (exponent < 0) return [sign(v) + "0", "0".repeat(-exponent - 1) + digits];
      const int = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
      return [sign(v) + int, digits.slice(exponent + 1)];
    };
    const parts = finite.map(positional);
    padLeft = largest(parts.map(([int]) => int.length));
    padRight = largest(parts.map(([, frac]) => frac.length));
    finiteText = (v) => {
      const [int, frac] = positional(v);
      return int.padStart(padLeft) + "." + frac.padEnd(padRight);
    };
  }
  // nan and inf are right-aligned in the same width, widened if they need more room.
  if (finite.length < printed.length) {
    const inf = printed.some((v) => v === -Infinity) ? 4 : 3;
    padLeft = Math.max(padLeft, 3 - (padRight + 1), inf - (padRight + 1));
  }
  const width = padLeft + 1 + padRight;
  return (v) => {
    if (Number.isNaN(v)) return "nan".padStart(width);
    if (!Number.isFinite(v)) return (v > 0 ? "inf" : "-inf").padStart(width);
    return finiteText(v).padStart(width);
  };
}
