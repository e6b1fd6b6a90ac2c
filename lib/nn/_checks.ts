/** Argument checks shared by the modules of `nn`: each error names the function it guards. */

import { Tensor } from "../core/tensor.ts";

const describe = (x: unknown) =>
  x === null ? "null" : Array.isArray(x) ? "an array" : `${typeof x} ${String(x)}`;

/** A size: a positive integer (TypeError for a non-number, RangeError for a bad number). */
export function checkSize(op: string, name: string, n: unknown): void {
  if (typeof n !== "number") {
    throw new TypeError(`nn.${op}: ${name} must be a number, got ${describe(n)}`);
  }
  if (!Number.isInteger(n) || n <= 0) {
    throw new RangeError(`nn.${op}: ${name} must be a positive integer, got ${n}`);
  }
}

/** A tensor argument. */
export function checkTensor(op: string, name: string, x: unknown): void {
  if (!(x instanceof Tensor)) {
    throw new TypeError(`nn.${op}: ${name} must be a tensor, got ${describe(x)}`);
  }
}

/** A module: an object with `init` and `apply` functions. */
export function checkModule(op: string, name: string, m: unknown): void {
  const ok = typeof m === "object" && m !== null &&
    typeof (m as { init?: unknown }).init === "function" &&
    typeof (m as { apply?: unknown }).apply === "function";
  if (!ok) {
    throw new TypeError(`nn.${op}: ${name} must be a module { init, apply }, got ${describe(m)}`);
  }
}

/** An options object (or nothing). */
export function checkOptions(op: string, name: string, o: unknown): void {
  if (typeof o !== "object" || o === null || Array.isArray(o)) {
    throw new TypeError(`nn.${op}: ${name} must be an object, got ${describe(o)}`);
  }
}
