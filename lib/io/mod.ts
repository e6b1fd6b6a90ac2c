/**
 * Saving and loading pytrees of tensors in the safetensors format (readable by the Python
 * `safetensors` package). Tensors are named by their tree paths (`layers.0.w`); the tree's
 * structure and its number leaves travel in the header's metadata, so `load` rebuilds the
 * same pytree. Little-endian byte order is assumed (as on every platform Deno runs on).
 *
 * @module
 */

import type { DType, TypedArray } from "../core/dtype.ts";
import * as lax from "../core/lax.ts";
import { getDefaultDevice } from "../core/backend.ts";
import { Tensor } from "../core/tensor.ts";
import * as tree from "../tree.ts";
import {
  decodeSafetensors,
  encodeSafetensors,
  type RawTensor,
  type SafetensorsDType,
} from "./_safetensors.ts";

const TO_FORMAT: Record<DType, SafetensorsDType> = {
  float32: "F32",
  float64: "F64",
  int32: "I32",
  bool: "BOOL",
};
const STRUCTURE_KEY = "nabla.tree";

// The structure with each leaf replaced by a tag: "t" for a tensor, or the JSON of a plain value.
function describeLeaves(t: unknown): [Tensor[], object] {
  const tensors: Tensor[] = [];
  const [leaves, def] = tree.flatten(t);
  const tags = leaves.map((l) => {
    if (l instanceof Tensor) {
      tensors.push(l);
      return { t: 1 };
    }
    if (typeof l === "number" || typeof l === "string" || typeof l === "boolean") return { v: l };
    throw new TypeError(
      `io.save: leaves must be tensors, numbers, strings or booleans, got ${typeof l}`,
    );
  });
  return [tensors, { def, tags }];
}

/**
 * Writes a pytree of tensors (numbers, strings and booleans are kept too) to `path` as
 * safetensors.
 *
 * @example
 * ```ts
 * import { io, type Tensor, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await io.save(path, { w: tensor([[1, 2]]), step: 3 });
 * const back = (await io.load(path)) as { w: Tensor; step: number };
 * assert.deepEqual([await back.w.toArray(), back.step], [[[1, 2]], 3]);
 * ```
 */
export async function save(path: string | URL, t: unknown): Promise<void> {
  const [tensors, structure] = describeLeaves(t);
  const paths = tree.paths(t);
  const [leaves] = tree.flatten(t);
  const names = leaves.flatMap((l, i) => (l instanceof Tensor ? [paths[i] || "value"] : []));
  const raw: Record<string, RawTensor> = {};
  for (let i = 0; i < tensors.length; i++) {
    const x = tensors[i];
    const data = await x.data();
    raw[names[i]] = {
      dtype: TO_FORMAT[x.dtype],
      shape: [...x.shape],
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice(),
    };
  }
  const bytes = encodeSafetensors(raw, {
    [STRUCTURE_KEY]: JSON.stringify({ ...structure, names }),
  });
  await Deno.writeFile(path, bytes);
}

function toTyped(r: RawTensor): TypedArray {
  const buf = r.data.buffer.slice(r.data.byteOffset, r.data.byteOffset + r.data.byteLength);
  switch (r.dtype) {
    case "F32":
      return new Float32Array(buf);
    case "F64":
      return new Float64Array(buf);
    case "I32":
      return new Int32Array(buf);
    case "BOOL":
      return new Uint8Array(buf);
  }
}

/**
 * Reads a file written by `save` (or any safetensors file, as a flat object of tensors by
 * name). A truncated or corrupt file rejects with an Error and yields nothing.
 *
 * @example
 * ```ts
 * import { io, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await io.save(path, [tensor(1), tensor(2)]);
 * assert.equal(((await io.load(path)) as unknown[]).length, 2);
 * ```
 */
export async function load(path: string | URL): Promise<unknown> {
  const { tensors, metadata } = decodeSafetensors(await Deno.readFile(path));
  const device = getDefaultDevice();
  const make = (r: RawTensor) => lax.fromArray(toTyped(r), r.shape, device);
  const structure = metadata[STRUCTURE_KEY];
  if (structure === undefined) {
    return Object.fromEntries(Object.entries(tensors).map(([name, r]) => [name, make(r)]));
  }
  let parsed: { def: tree.TreeDef; tags: ({ t: 1 } | { v: unknown })[]; names: string[] };
  try {
    parsed = JSON.parse(structure);
  } catch {
    throw new Error(`io.load: ${String(path)}: the "${STRUCTURE_KEY}" metadata is not valid JSON`);
  }
  let next = 0;
  const leaves = parsed.tags.map((tag) => {
    if (!("t" in tag)) return tag.v;
    const name = parsed.names[next++];
    const r = tensors[name];
    if (r === undefined) throw new Error(`io.load: ${String(path)}: tensor "${name}" is missing`);
    return make(r);
  });
  return tree.unflatten(parsed.def, leaves);
}
