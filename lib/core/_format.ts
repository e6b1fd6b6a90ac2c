/** NumPy-style printing of tensor values, on one line, summarised past 1000 elements. */

import type { DType, TypedArray } from "./dtype.ts";
import { type Shape, sizeOf, stridesOf } from "./shape.ts";

const SUMMARY_THRESHOLD = 1000;
const EDGE_ITEMS = 3;

const PRECISION = 8;

// The value with the fewest significant digits (at most PRECISION) that reads back as `v` in
// its dtype, as NumPy prints: float32 0.3 prints as 0.3, not 0.30000001.
function shortest(v: number, dtype: DType): number {
  if (dtype === "float32") {
    for (let p = 1; p < PRECISION; p++) {
      const r = Number(v.toPrecision(p));
      if (Math.fround(r) === v) return r;
    }
  }
  return Number(v.toPrecision(PRECISION));
}

function formatFloat(v: number, dtype: DType): string {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (Object.is(v, -0)) return "-0.";
  const r = shortest(v, dtype);
  if (Number.isInteger(r) && Math.abs(r) < 1e16) return `${r}.`;
  const abs = Math.abs(r);
  if (abs >= 1e-4 && abs < 1e16) return String(r);
  return r.toExponential();
}

/** Formats values as `tensor([[1, 2], [3, 4]], dtype=int32)`; float32 omits its dtype. */
export function formatTensor(data: TypedArray, shape: Shape, dtype: DType): string {
  const one = dtype === "bool"
    ? (v: number) => (v ? "true" : "false")
    : dtype === "int32"
    ? (v: number) => String(v)
    : (v: number) => formatFloat(v, dtype);
  const summarise = sizeOf(shape) > SUMMARY_THRESHOLD;
  const strides = stridesOf(shape);
  const build = (dim: number, offset: number): string => {
    if (dim === shape.length) return one(data[offset]);
    const n = shape[dim];
    const parts: string[] = [];
    const push = (i: number) => parts.push(build(dim + 1, offset + i * strides[dim]));
    if (summarise && n > 2 * EDGE_ITEMS) {
      for (let i = 0; i < EDGE_ITEMS; i++) push(i);
      parts.push("...");
      for (let i = n - EDGE_ITEMS; i < n; i++) push(i);
    } else {
      for (let i = 0; i < n; i++) push(i);
    }
    return `[${parts.join(", ")}]`;
  };
  const suffix = dtype === "float32" ? "" : `, dtype=${dtype}`;
  return `tensor(${build(0, 0)}${suffix})`;
}
