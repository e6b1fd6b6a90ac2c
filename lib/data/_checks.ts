/** Argument checks of the datasets: an options object and the kinds and ranges of its fields. */

const kind = (x: unknown): string => x === null ? "null" : Array.isArray(x) ? "an array" : typeof x;

/** The options object of `op` (`{}` when omitted): a TypeError for anything else. */
export function checkOptions<O extends object>(op: string, opts: O | undefined): O {
  if (opts === undefined) return {} as O;
  if (typeof opts !== "object" || opts === null || Array.isArray(opts)) {
    throw new TypeError(`data.${op}: options must be an object, got ${kind(opts)}`);
  }
  return opts;
}

/** An integer option: a TypeError for another kind, a RangeError for a fraction or below min. */
export function checkInteger(op: string, name: string, v: unknown, min?: number): number {
  if (typeof v !== "number") {
    throw new TypeError(`data.${op}: ${name} must be an integer, got ${kind(v)}`);
  }
  if (!Number.isSafeInteger(v)) {
    throw new RangeError(`data.${op}: ${name} must be a safe integer, got ${v}`);
  }
  if (min !== undefined && v < min) {
    throw new RangeError(`data.${op}: ${name} must be an integer >= ${min}, got ${v}`);
  }
  return v;
}

/** A boolean option. */
export function checkBoolean(op: string, name: string, v: unknown): boolean {
  if (typeof v !== "boolean") {
    throw new TypeError(`data.${op}: ${name} must be a boolean, got ${kind(v)}`);
  }
  return v;
}
