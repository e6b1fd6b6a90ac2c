// The pytree a file holds, as io.save records it in the header's metadata: the structure, one
// tag per leaf (a tensor, stored by name, or a plain value kept in the tag) and the tensors'
// names in leaf order. Files come from anywhere, so reading checks every part of it.

import { Tensor } from "../core/tensor.ts";
import * as tree from "../tree.ts";

/**
 * How one leaf is kept: `{ t: 1 }` for a tensor (the next name in `names`), `{ v }` for a
 * string, boolean or finite number, `{ n }` for a number JSON cannot spell (`"NaN"`,
 * `"Infinity"`, `"-Infinity"`, `"-0"`).
 *
 * @example
 * ```ts
 * import { type Tag, tagOf, valueOf } from "./_structure.ts";
 * import assert from "node:assert/strict";
 * const tags: Tag[] = [tagOf(-Infinity, "best"), tagOf("adam", "name")];
 * assert.deepEqual(tags, [{ n: "-Infinity" }, { v: "adam" }]);
 * assert.deepEqual(tags.map(valueOf), [-Infinity, "adam"]);
 * ```
 */
export type Tag = { t: 1 } | { v: string | number | boolean } | { n: string };

/**
 * The metadata of a saved pytree.
 *
 * @example
 * ```ts
 * import { parseStructure, type Structure, tagOf } from "./_structure.ts";
 * import { tree } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const [, def] = tree.flatten({ step: 3 });
 * const s: Structure = { def, tags: [tagOf(3, "step")], names: [] };
 * assert.deepEqual(parseStructure(JSON.stringify(s), assert.fail), s);
 * ```
 */
export interface Structure {
  /** The pytree's structure. */
  def: tree.TreeDef;
  /** One tag per leaf, in flatten order. */
  tags: Tag[];
  /** The names of the tensor leaves, in flatten order. */
  names: string[];
}

const SPECIAL_NUMBERS = ["NaN", "Infinity", "-Infinity", "-0"];

/**
 * The tag that keeps `leaf` (found at `path`); a TypeError for a leaf that cannot be saved.
 *
 * @example
 * ```ts
 * import { tagOf } from "./_structure.ts";
 * import assert from "node:assert/strict";
 * import { tensor } from "../../mod.ts";
 * assert.deepEqual([tagOf(0.5, "lr"), tagOf(-0, "zero")], [{ v: 0.5 }, { n: "-0" }]);
 * assert.deepEqual(tagOf(tensor([1, 2]), "w"), { t: 1 });
 * assert.throws(() => tagOf(() => 1, "f"), /io.save: the leaf at "f" is a function/);
 * ```
 */
export function tagOf(leaf: unknown, path: string): Tag {
  if (typeof leaf === "number" && (!Number.isFinite(leaf) || Object.is(leaf, -0))) {
    return { n: Object.is(leaf, -0) ? "-0" : String(leaf) };
  }
  if (typeof leaf === "number" || typeof leaf === "string" || typeof leaf === "boolean") {
    return { v: leaf };
  }
  if (leaf instanceof Tensor) return { t: 1 };
  const kind = typeof leaf === "object" ? (leaf as object).constructor?.name : typeof leaf;
  throw new TypeError(
    `io.save: the leaf at ${JSON.stringify(path)} is a ${kind}; leaves must be tensors, ` +
      `numbers, strings or booleans`,
  );
}

/**
 * The plain value a non-tensor tag keeps.
 *
 * @example
 * ```ts
 * import { valueOf } from "./_structure.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual([valueOf({ v: true }), valueOf({ n: "NaN" })], [true, NaN]);
 * ```
 */
export function valueOf(tag: Tag): unknown {
  if ("n" in tag) return Number(tag.n);
  if ("v" in tag) return tag.v;
  throw new TypeError("io.load: a tensor tag has no plain value");
}

const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

function isTreeDef(d: unknown): d is tree.TreeDef {
  if (!isRecord(d)) return false;
  switch (d.kind) {
    case "leaf":
      return true;
    case "none":
      return d.value === null || d.value === undefined;
    case "array":
      return Array.isArray(d.children) && d.children.every(isTreeDef);
    case "object":
      return Array.isArray(d.keys) && d.keys.every((k) => typeof k === "string") &&
        Array.isArray(d.children) && d.children.length === d.keys.length &&
        d.children.every(isTreeDef);
    default:
      return false;
  }
}

function isTag(tag: unknown): tag is Tag {
  if (!isRecord(tag)) return false;
  const keys = Object.keys(tag);
  if (keys.length !== 1) return false;
  if (keys[0] === "t") return tag.t === 1;
  if (keys[0] === "n") return SPECIAL_NUMBERS.includes(tag.n as string);
  const v = tag.v;
  return keys[0] === "v" && ["string", "number", "boolean"].includes(typeof v);
}

/**
 * Parses and checks the metadata text, calling `fail` with what is wrong (it must throw).
 *
 * @example
 * ```ts
 * import { parseStructure } from "./_structure.ts";
 * import assert from "node:assert/strict";
 * const fail = (what: string): never => {
 *   throw new Error(what);
 * };
 * assert.throws(() => parseStructure('{"def": {"kind": "leaf"}}', fail), /has no "tags" list/);
 * ```
 */
export function parseStructure(text: string, fail: (what: string) => never): Structure {
  let s: unknown;
  try {
    s = JSON.parse(text);
  } catch (e) {
    fail(`is not valid JSON (${(e as Error).message})`);
  }
  if (!isRecord(s)) fail("is not a JSON object");
  const { def, tags, names } = s;
  if (!isTreeDef(def)) fail(`has no valid tree structure ("def")`);
  if (!Array.isArray(tags)) fail(`has no "tags" list`);
  if (!Array.isArray(names)) fail(`has no "names" list`);
  const badTag = tags.findIndex((t) => !isTag(t));
  if (badTag >= 0) fail(`has an invalid tag ${JSON.stringify(tags[badTag])} for leaf ${badTag}`);
  const badName = names.findIndex((n) => typeof n !== "string");
  if (badName >= 0) {
    fail(`has a tensor name that is not a string: ${JSON.stringify(names[badName])}`);
  }
  const leaves = tree.numLeaves(def);
  if (tags.length !== leaves) {
    fail(`has ${tags.length} leaf tags but its structure has ${leaves} leaves`);
  }
  const tensors = tags.filter((t) => "t" in t).length;
  if (names.length !== tensors) fail(`has ${names.length} names for ${tensors} tensor leaves`);
  return { def, tags, names };
}
