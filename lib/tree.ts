/**
 * Pytrees: nested arrays and plain objects whose leaves are tensors (or anything else that is
 * not an array or a plain object). Transformations, optimizers and I/O all take and return
 * pytrees, so models can keep their parameters in ordinary typed objects.
 *
 * ```ts
 * import { tree } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const params = { w: [1, 2], b: 3 };
 * assert.deepEqual(tree.map((x: number) => x * 10, params), { w: [10, 20], b: 30 });
 * ```
 *
 * @module
 */

/** The structure of a pytree, without its leaves. */
export type TreeDef =
  | { readonly kind: "leaf" }
  | { readonly kind: "none"; readonly value: null | undefined }
  | { readonly kind: "array"; readonly children: readonly TreeDef[] }
  | {
    readonly kind: "object";
    readonly keys: readonly string[];
    readonly children: readonly TreeDef[];
  };

const LEAF: TreeDef = Object.freeze({ kind: "leaf" });

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== "object") return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

// `path` (the keys down to `t`) and `open` (the nodes being built) find cycles, which would
// recurse forever; the path is only spelled out for the error.
function build(
  t: unknown,
  leaves: unknown[],
  path: (string | number)[],
  open: Set<unknown>,
): TreeDef {
  if (t === null || t === undefined) return { kind: "none", value: t };
  if (!Array.isArray(t) && !isPlainObject(t)) {
    leaves.push(t);
    return LEAF;
  }
  if (open.has(t)) {
    const at = path.length === 0 ? "the root" : path.join(".");
    throw new TypeError(`tree.flatten: the pytree contains a cycle at ${at}`);
  }
  open.add(t);
  const child = (c: unknown, key: string | number) => {
    path.push(key);
    const def = build(c, leaves, path, open);
    path.pop();
    return def;
  };
  let def: TreeDef;
  if (Array.isArray(t)) {
    def = { kind: "array", children: t.map(child) };
  } else {
    const keys = Object.keys(t);
    def = { kind: "object", keys, children: keys.map((k) => child(t[k], k)) };
  }
  open.delete(t);
  return def;
}

// Rejects what is not a structure from `flatten` (a TypeError naming `op`).
function checkDef(op: string, def: unknown): TreeDef {
  const kind = (def as TreeDef | null)?.kind;
  if (kind === "leaf" || kind === "none" || kind === "array" || kind === "object") {
    return def as TreeDef;
  }
  const got = def === null || def === undefined ? String(def) : typeof def;
  throw new TypeError(`${op}: expected a treedef from tree.flatten, got ${got}`);
}

/**
 * Splits a pytree into its leaves (depth first, object keys in insertion order) and its
 * structure.
 *
 * @example
 * ```ts
 * import { tree } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const [leaves, def] = tree.flatten({ a: 1, b: [2, 3] });
 * assert.deepEqual(leaves, [1, 2, 3]);
 * assert.deepEqual(tree.unflatten(def, [4, 5, 6]), { a: 4, b: [5, 6] });
 * ```
 */
export function flatten<L = unknown>(t: unknown): [L[], TreeDef] {
  const leaves: unknown[] = [];
  const def = build(t, leaves, [], new Set());
  return [leaves as L[], def];
}

/**
 * Rebuilds a pytree of the structure `def` from leaves in flatten order.
 *
 * @example
 * ```ts
 * import { tree } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const [, def] = tree.flatten([1, { x: 2 }]);
 * assert.deepEqual(tree.unflatten(def, ["a", "b"]), ["a", { x: "b" }]);
 * ```
 */
export function unflatten<T = unknown>(def: TreeDef, leaves: readonly unknown[]): T {
  checkDef("tree.unflatten", def);
  if (!Array.isArray(leaves)) {
    const got = leaves === null || leaves === undefined ? String(leaves) : typeof leaves;
    throw new TypeError(`tree.unflatten: leaves must be an array, got ${got}`);
  }
  let pos = 0;
  const go = (d: TreeDef): unknown => {
    switch (d.kind) {
      case "leaf":
        return leaves[pos++];
      case "none":
        return d.value;
      case "array":
        return d.children.map(go);
      case "object": {
        const out: Record<string, unknown> = {};
        d.keys.forEach((k, i) => (out[k] = go(d.children[i])));
        return out;
      }
    }
  };
  const out = go(def);
  if (pos !== leaves.length) {
    throw new RangeError(
      `tree.unflatten: structure has ${pos} leaves but ${leaves.length} were given`,
    );
  }
  return out as T;
}

/**
 * The leaves of a pytree, in flatten order.
 *
 * @example
 * ```ts
 * import { tree } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(tree.leaves({ w: [1, 2], b: null }), [1, 2]);
 * ```
 */
export function leaves<L = unknown>(t: unknown): L[] {
  return flatten<L>(t)[0];
}

/**
 * The number of leaves in a structure.
 *
 * @example
 * ```ts
 * import { tree } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(tree.numLeaves(tree.flatten([1, [2, 3]])[1]), 3);
 * ```
 */
export function numLeaves(def: TreeDef): number {
  checkDef("tree.numLeaves", def);
  switch (def.kind) {
    case "leaf":
      return 1;
    case "none":
      return 0;
    default:
      return def.children.reduce((n, c) => n + numLeaves(c), 0);
  }
}

/**
 * Whether two structures are the same (same nesting, keys and leaf positions).
 *
 * @example
 * ```ts
 * import { tree } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.ok(tree.sameStructure(tree.flatten({ a: 1 })[1], tree.flatten({ a: 2 })[1]));
 * ```
 */
export function sameStructure(a: TreeDef, b: TreeDef): boolean {
  checkDef("tree.sameStructure", a);
  checkDef("tree.sameStructure", b);
  if (a.kind !== b.kind) return false;
  if (a.kind === "leaf" || a.kind === "none") return true;
  const bc = (b as typeof a).children;
  if (a.children.length !== bc.length) return false;
  if (a.kind === "object") {
    const bk = (b as typeof a).keys;
    if (a.keys.some((k, i) => k !== bk[i])) return false;
  }
  return a.children.every((c, i) => sameStructure(c, bc[i]));
}

/**
 * Describes a structure compactly for error messages: `{w: *, b: [*, *]}`.
 *
 * @example
 * ```ts
 * import { tree } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(tree.describe(tree.flatten({ w: 1, b: [2] })[1]), "{w: *, b: [*]}");
 * ```
 */
export function describe(def: TreeDef): string {
  checkDef("tree.describe", def);
  switch (def.kind) {
    case "leaf":
      return "*";
    case "none":
      return String(def.value);
    case "array":
      return `[${def.children.map(describe).join(", ")}]`;
    case "object":
      return `{${def.keys.map((k, i) => `${k}: ${describe(def.children[i])}`).join(", ")}}`;
  }
}

/**
 * Applies `f` to corresponding leaves of one or more pytrees of the same structure.
 *
 * @example
 * ```ts
 * import { tree } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(tree.map((a: number, b: number) => a + b, [1, { x: 2 }], [10, { x: 20 }]), [
 *   11,
 *   { x: 22 },
 * ]);
 * ```
 */
// deno-lint-ignore no-explicit-any
export function map<R = any>(f: (...leaves: any[]) => R, t: unknown, ...rest: unknown[]): any {
  if (typeof f !== "function") {
    throw new TypeError(`tree.map: f must be a function, got ${f === null ? "null" : typeof f}`);
  }
  const [first, def] = flatten(t);
  const others = rest.map((r) => {
    const [ls, d] = flatten(r);
    if (!sameStructure(def, d)) {
      throw new TypeError(
        `tree.map: structures differ: ${describe(def)} and ${describe(d)}`,
      );
    }
    return ls;
  });
  return unflatten(def, first.map((leaf, i) => f(leaf, ...others.map((o) => o[i]))));
}

/**
 * Paths to each leaf in flatten order, as dotted names (`layers.0.w`), used to name tensors
 * in saved files.
 *
 * @example
 * ```ts
 * import { tree } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(tree.paths({ layers: [{ w: 1 }], b: 2 }), ["layers.0.w", "b"]);
 * ```
 */
export function paths(t: unknown): string[] {
  const out: string[] = [];
  const go = (x: unknown, prefix: string) => {
    if (x === null || x === undefined) return;
    const join = (k: string | number) => (prefix === "" ? String(k) : `${prefix}.${k}`);
    if (Array.isArray(x)) x.forEach((c, i) => go(c, join(i)));
    else if (isPlainObject(x)) { for (const k of Object.keys(x)) go(x[k], join(k)); }
    else out.push(prefix);
  };
  go(t, "");
  return out;
}
