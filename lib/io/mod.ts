/**
 * Saving and loading pytrees of tensors in the safetensors format (read and written by the
 * Python `safetensors` package). Tensors are named by their tree paths (`layers.0.w`); the
 * tree's structure and its number, string and boolean leaves travel in the header's metadata,
 * so `load` rebuilds the same pytree. Any other safetensors file loads as a flat object of
 * tensors by name, its float16 and bfloat16 tensors (as most published checkpoints store
 * them) widened to float32. Little-endian byte order is assumed (as on every platform Deno
 * runs on).
 *
 * @module
 */

import { type DType, isFloat, type TypedArray } from "../core/dtype.ts";
import * as lax from "../core/lax.ts";
import { getDefaultDevice } from "../core/backend.ts";
import { Tensor } from "../core/tensor.ts";
import * as tree from "../tree.ts";
import { fromHalfBits, type HalfFormat, toHalfBits } from "./_half.ts";
import { decodeSafetensors, encodeSafetensors, type RawTensor } from "./_safetensors.ts";
import { parseStructure, type Structure, type Tag, tagOf, valueOf } from "./_structure.ts";

/** Options of {@linkcode save}. */
export interface SaveOptions {
  /**
   * Stores the floating tensors (float32 and float64) as IEEE half precision (`"float16"`,
   * safetensors `F16`) or bfloat16 (`"bfloat16"`, `BF16`), rounded to nearest, ties to even
   * (NaNs and infinities are kept; too large values become infinities). Integer and boolean
   * tensors keep their dtype. Default: every tensor in its own dtype, exactly.
   */
  dtype?: "float16" | "bfloat16";
}

/** Options of {@linkcode load}. */
export interface LoadOptions {
  /**
   * The dtype of the tensors stored as `F16` or `BF16`, which nabla computes in wider floats:
   * `"float32"` (the default) or `"float64"`; both hold every such value exactly. Other
   * tensors keep their stored dtype.
   */
  dtype?: "float32" | "float64";
}

const FORMAT_OF: Record<DType, RawTensor["dtype"]> = {
  float32: "F32",
  float64: "F64",
  int32: "I32",
  bool: "BOOL",
};
const HALF_FORMAT: Record<NonNullable<SaveOptions["dtype"]>, HalfFormat> = {
  float16: "F16",
  bfloat16: "BF16",
};
const STRUCTURE_KEY = "nabla.tree";

const show = (x: unknown): string => (typeof x === "string" ? JSON.stringify(x) : String(x));

/** Names each leaf by its path (a lone leaf is "value") and rejects names two leaves share. */
function leafNames(t: unknown): string[] {
  const names = tree.paths(t).map((p) => p || "value");
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) {
      throw new TypeError(
        `io.save: two leaves have the path ${show(name)} (a key containing "." can collide ` +
          `with nested keys); rename one`,
      );
    }
    if (name === "__metadata__") {
      throw new TypeError(`io.save: the path "__metadata__" is reserved by the safetensors format`);
    }
    seen.add(name);
  }
  return names;
}

async function rawTensor(x: Tensor, half: HalfFormat | undefined): Promise<RawTensor> {
  const data = await x.data();
  const shape = [...x.shape];
  if (half !== undefined && isFloat(x.dtype)) {
    const bits = toHalfBits(data as Float32Array | Float64Array, half);
    return { dtype: half, shape, data: new Uint8Array(bits.buffer) };
  }
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  return { dtype: FORMAT_OF[x.dtype], shape, data: bytes };
}

/**
 * Writes a pytree of tensors (numbers, strings and booleans are kept too) to `path` as
 * safetensors, each tensor named by its path. Two leaves whose paths collide (`{ "a.b": x,
 * a: { b: y } }`) are a TypeError. `{ dtype: "float16" | "bfloat16" }` stores the floating
 * tensors in that 16-bit format, as checkpoints are published.
 *
 * @example
 * ```ts
 * import { io, type Tensor, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await io.save(path, { w: tensor([[1, 2]]), step: 3 });
 * const back = (await io.load(path)) as { w: Tensor; step: number };
 * assert.deepEqual([await back.w.toArray(), back.step], [[[1, 2]], 3]);
 *
 * await io.save(path, { w: tensor([0.1, 70000]) }, { dtype: "float16" });
 * const half = (await io.load(path)) as { w: Tensor };
 * assert.deepEqual(await half.w.toArray(), [0.0999755859375, Infinity]); // nearest float16s
 * ```
 */
export async function save(path: string | URL, t: unknown, opts: SaveOptions = {}): Promise<void> {
  checkPath("io.save", path);
  const { dtype } = opts;
  if (dtype !== undefined && !Object.hasOwn(HALF_FORMAT, dtype)) {
    throw new TypeError(`io.save: dtype must be "float16" or "bfloat16", got ${show(dtype)}`);
  }
  const half = dtype === undefined ? undefined : HALF_FORMAT[dtype];
  const [leaves, def] = tree.flatten(t);
  const paths = leafNames(t);
  const tags = leaves.map((leaf, i) => tagOf(leaf, paths[i]));
  const names: string[] = [];
  const raw: Record<string, RawTensor> = {};
  for (const [i, leaf] of leaves.entries()) {
    if (!(leaf instanceof Tensor)) continue;
    names.push(paths[i]);
    raw[paths[i]] = await rawTensor(leaf, half);
  }
  const structure: Structure = { def, tags, names };
  const bytes = encodeSafetensors(raw, { [STRUCTURE_KEY]: JSON.stringify(structure) });
  await Deno.writeFile(path, bytes);
}

function typedArray(r: RawTensor, halfAs: "float32" | "float64"): TypedArray {
  const { buffer, byteOffset, byteLength } = r.data;
  const bytes = buffer.slice(byteOffset, byteOffset + byteLength);
  switch (r.dtype) {
    case "F32":
      return new Float32Array(bytes);
    case "F64":
      return new Float64Array(bytes);
    case "I32":
      return new Int32Array(bytes);
    case "BOOL":
      return new Uint8Array(bytes);
    case "F16":
    case "BF16": {
      const wide = fromHalfBits(new Uint16Array(bytes), r.dtype);
      return halfAs === "float64" ? Float64Array.from(wide) : wide;
    }
  }
}

/**
 * Reads a file written by `save`, rebuilding its pytree, or any other safetensors file as a
 * flat object of tensors by name. `F16` and `BF16` tensors load as float32 (or as
 * `opts.dtype`). A missing, truncated or corrupt file rejects with an Error that names
 * `io.load`, the file and what is wrong, and yields nothing.
 *
 * @example
 * ```ts
 * import { io, type Tensor, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await io.save(path, [tensor(1), tensor(2)]);
 * assert.equal(((await io.load(path)) as unknown[]).length, 2);
 *
 * await io.save(path, { w: tensor([1.5]) }, { dtype: "bfloat16" });
 * const { w } = (await io.load(path, { dtype: "float64" })) as { w: Tensor };
 * assert.deepEqual([w.dtype, await w.toArray()], ["float64", [1.5]]);
 * ```
 */
export async function load(path: string | URL, opts: LoadOptions = {}): Promise<unknown> {
  checkPath("io.load", path);
  const halfAs = opts.dtype ?? "float32";
  if (halfAs !== "float32" && halfAs !== "float64") {
    throw new TypeError(`io.load: dtype must be "float32" or "float64", got ${show(halfAs)}`);
  }
  const file = String(path);
  const bytes = await Deno.readFile(path);
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(bytes);
  } catch (e) {
    throw new Error(`io.load: ${file}: ${(e as Error).message}`, { cause: e });
  }
  const { tensors, metadata } = decoded;
  const device = getDefaultDevice();
  const make = (r: RawTensor) => lax.fromArray(typedArray(r, halfAs), r.shape, device);
  const text = metadata[STRUCTURE_KEY];
  if (text === undefined) {
    return Object.fromEntries(Object.entries(tensors).map(([name, r]) => [name, make(r)]));
  }
  const structure = parseStructure(text, (what) => {
    throw new Error(`io.load: ${file}: the "${STRUCTURE_KEY}" metadata ${what}`);
  });
  for (const name of structure.names) {
    if (!Object.hasOwn(tensors, name)) {
      throw new Error(`io.load: ${file}: tensor ${show(name)} is missing`);
    }
  }
  let next = 0;
  const leafOf = (tag: Tag) => ("t" in tag ? make(tensors[structure.names[next++]]) : valueOf(tag));
  return tree.unflatten(structure.def, structure.tags.map(leafOf));
}

// A file path: a non-empty string or a URL.
function checkPath(op: string, path: unknown): void {
  if (!(path instanceof URL) && (typeof path !== "string" || path === "")) {
    throw new TypeError(`${op}: path must be a non-empty string or a URL, got ${show(path)}`);
  }
}
