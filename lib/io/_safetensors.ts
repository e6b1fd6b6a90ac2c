// A dependency-free codec for the safetensors format (https://github.com/huggingface/safetensors):
// u64 LE header size N, N bytes of UTF-8 JSON header padded with spaces to 8-byte alignment, data.
// It moves raw bytes only; converting them to and from tensors is the caller's business.

/**
 * The safetensors dtype strings supported by this codec.
 *
 * @example
 * ```ts
 * import { decodeSafetensors, dtypeByteSize, encodeSafetensors } from "./_safetensors.ts";
 * import type { RawTensor, SafetensorsDType } from "./_safetensors.ts";
 * import assert from "node:assert/strict";
 *
 * const dtypes: SafetensorsDType[] = ["F32", "F64", "I32", "BOOL", "F16", "BF16"];
 * assert.deepEqual(dtypes.map(dtypeByteSize), [4, 8, 4, 1, 2, 2]);
 * const t: RawTensor = { dtype: "BOOL", shape: [], data: new Uint8Array([1]) };
 * assert.deepEqual(decodeSafetensors(encodeSafetensors({ t })).tensors.t, t);
 * ```
 */
export type SafetensorsDType = "F32" | "F64" | "I32" | "BOOL" | "F16" | "BF16";

/**
 * One tensor as stored in a safetensors file: dtype, shape and raw little-endian bytes.
 *
 * @example
 * ```ts
 * import { decodeSafetensors, dtypeByteSize, encodeSafetensors } from "./_safetensors.ts";
 * import type { RawTensor, SafetensorsDType } from "./_safetensors.ts";
 * import assert from "node:assert/strict";
 *
 * const dtype: SafetensorsDType = "F64";
 * const scalar: RawTensor = { dtype, shape: [], data: new Uint8Array(dtypeByteSize(dtype)) };
 * const { tensors } = decodeSafetensors(encodeSafetensors({ scalar }));
 * assert.deepEqual(tensors.scalar, scalar);
 * ```
 */
export interface RawTensor {
  /** The element type. */
  dtype: SafetensorsDType;
  /** The dimensions; `[]` is a scalar. */
  shape: number[];
  /** The raw little-endian element bytes (`product(shape) * dtypeByteSize(dtype)` of them). */
  data: Uint8Array;
}

const BYTE_SIZES: Record<SafetensorsDType, number> = {
  F32: 4,
  F64: 8,
  I32: 4,
  BOOL: 1,
  F16: 2,
  BF16: 2,
};
const SUPPORTED = Object.keys(BYTE_SIZES).join(", ");

/** Largest header accepted by {@linkcode decodeSafetensors}, as in the reference implementation. */
const MAX_HEADER_BYTES = 100_000_000;

/**
 * The size in bytes of one element of `dtype`.
 *
 * @example
 * ```ts
 * import { decodeSafetensors, dtypeByteSize, encodeSafetensors } from "./_safetensors.ts";
 * import type { RawTensor, SafetensorsDType } from "./_safetensors.ts";
 * import assert from "node:assert/strict";
 *
 * const dtype: SafetensorsDType = "I32";
 * assert.equal(dtypeByteSize(dtype), 4);
 * const v: RawTensor = { dtype, shape: [3], data: new Uint8Array(3 * dtypeByteSize(dtype)) };
 * assert.deepEqual(decodeSafetensors(encodeSafetensors({ v })).tensors.v, v);
 * ```
 */
export function dtypeByteSize(dtype: SafetensorsDType): number {
  if (!Object.hasOwn(BYTE_SIZES, dtype)) {
    throw new TypeError(`safetensors: unsupported dtype ${JSON.stringify(dtype)}`);
  }
  return BYTE_SIZES[dtype];
}

function fail(message: string): never {
  throw new Error(`safetensors: ${message}`);
}

const isObject = (x: unknown): x is object =>
  typeof x === "object" && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const show = (x: unknown): string => JSON.stringify(x) ?? String(x);

/** Checks `shape` and returns the byte size it implies for `dtype` (`what` names the tensor). */
function byteLength(what: string, dtype: SafetensorsDType, shape: unknown): number {
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    fail(`${what} has invalid shape ${show(shape)} (expected an array of non-negative integers)`);
  }
  const bytes = shape.reduce((n: number, d: number) => n * d, dtypeByteSize(dtype));
  if (!Number.isSafeInteger(bytes)) fail(`${what} is too large (shape ${show(shape)})`);
  return bytes;
}

/**
 * Encodes tensors (laid out contiguously in insertion order) and optional string metadata as a
 * safetensors file.
 *
 * @example
 * ```ts
 * import { decodeSafetensors, dtypeByteSize, encodeSafetensors } from "./_safetensors.ts";
 * import type { RawTensor, SafetensorsDType } from "./_safetensors.ts";
 * import assert from "node:assert/strict";
 *
 * const dtype: SafetensorsDType = "F32";
 * const data = new Uint8Array(new Float32Array([1, 2]).buffer);
 * const a: RawTensor = { dtype, shape: [2], data };
 * const bytes = encodeSafetensors({ a }, { note: "hi" });
 * assert.equal(bytes.length % 8, 0);
 * assert.deepEqual(bytes.slice(-2 * dtypeByteSize(dtype)), data); // the data come last
 * assert.deepEqual(decodeSafetensors(bytes), { tensors: { a }, metadata: { note: "hi" } });
 * ```
 */
export function encodeSafetensors(
  tensors: Record<string, RawTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") fail(`metadata value for ${show(k)} is not a string`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  const entries = Object.entries(tensors);
  const headerEntries = entries.map(([name, { dtype, shape, data }]) => {
    const what = `tensor ${show(name)}`;
    if (name === "__metadata__") fail(`tensor name "__metadata__" is reserved`);
    const size = byteLength(what, dtype, shape);
    if (!(data instanceof Uint8Array) || data.length !== size) {
      fail(`${what} needs ${size} bytes (shape ${show(shape)}, ${dtype}) but has ${data?.length}`);
    }
    const entry = { dtype, shape: [...shape], data_offsets: [offset, offset + size] };
    offset += size;
    return [name, entry] as const;
  });
  // Object.fromEntries defines own properties, so even a tensor named "__proto__" survives.
  const json = JSON.stringify({ ...header, ...Object.fromEntries(headerEntries) });
  const headerBytes = new TextEncoder().encode(json);
  const n = Math.ceil(headerBytes.length / 8) * 8;
  const out = new Uint8Array(8 + n + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(headerBytes, 8);
  out.fill(0x20, 8 + headerBytes.length, 8 + n);
  let pos = 8 + n;
  for (const [, { data }] of entries) {
    out.set(data, pos);
    pos += data.length;
  }
  return out;
}

/**
 * Decodes a safetensors file, validating it completely before returning anything. Tensors are
 * returned in data order, each with a fresh copy of its bytes (so typed-array views of
 * `data.buffer` are aligned). Throws an `Error` whose message starts with `safetensors:` on any
 * malformed input.
 *
 * @example
 * ```ts
 * import { decodeSafetensors, dtypeByteSize, encodeSafetensors } from "./_safetensors.ts";
 * import type { RawTensor, SafetensorsDType } from "./_safetensors.ts";
 * import assert from "node:assert/strict";
 *
 * const dtype: SafetensorsDType = "I32";
 * const data = new Uint8Array(new Int32Array([7, -1, 3]).buffer);
 * const i: RawTensor = { dtype, shape: [3], data };
 * const bytes = encodeSafetensors({ i });
 * const { tensors } = decodeSafetensors(bytes);
 * assert.deepEqual([...new Int32Array(tensors.i.data.buffer)], [7, -1, 3]);
 * assert.equal(tensors.i.data.length, 3 * dtypeByteSize(dtype));
 * assert.throws(() => decodeSafetensors(bytes.subarray(0, 5)), /safetensors: file is 5 bytes/);
 * ```
 */
export function decodeSafetensors(
  bytes: Uint8Array,
): { tensors: Record<string, RawTensor>; metadata: Record<string, string> } {
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, too short for the 8-byte header size`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 >= 2n ** 53n || Number(n64) > MAX_HEADER_BYTES) {
    fail(`header size ${n64} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  const n = Number(n64);
  if (8 + n > bytes.length) {
    fail(`header size ${n} exceeds the ${bytes.length - 8} bytes following the size field`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail("header is not valid UTF-8");
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(header)) fail("header is not a JSON object");

  const dataLength = bytes.length - 8 - n;
  let metadata: Record<string, string> = {};
  const found: [string, SafetensorsDType, number[], number, number][] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (!isObject(info)) fail("__metadata__ is not a JSON object");
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== "string") fail(`__metadata__ value for ${show(k)} is not a string`);
      }
      metadata = Object.fromEntries(Object.entries(info));
      continue;
    }
    const what = `tensor ${show(name)}`;
    if (!isObject(info)) fail(`${what} entry is not a JSON object`);
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof dtype !== "string" || !Object.hasOwn(BYTE_SIZES, dtype)) {
      fail(`${what} has unsupported dtype ${show(dtype)} (supported: ${SUPPORTED})`);
    }
    const size = byteLength(what, dtype as SafetensorsDType, shape);
    if (
      !Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) ||
      offsets[0] > offsets[1]
    ) {
      fail(`${what} has invalid data_offsets ${show(offsets)} (want [begin, end], begin <= end)`);
    }
    const [begin, end] = offsets as [number, number], span = end - begin;
    const need = `${what} needs ${size} bytes (shape ${show(shape)}, ${dtype})`;
    if (span !== size) fail(`${need} but data_offsets span ${span}`);
    if (end > dataLength) {
      fail(`${what} data_offsets [${begin},${end}] exceed the ${dataLength}-byte data section`);
    }
    found.push([name, dtype as SafetensorsDType, shape as number[], begin, end]);
  }

  found.sort((a, b) => a[3] - b[3] || a[4] - b[4]);
  let covered = 0;
  for (const [name, , , begin, end] of found) {
    if (begin < covered) fail(`tensor ${show(name)} data [${begin},${end}] overlaps earlier data`);
    if (begin > covered) fail(`gap in data section: bytes [${covered},${begin}) are unused`);
    covered = end;
  }
  if (covered !== dataLength) fail(`${dataLength - covered} trailing bytes after the tensor data`);

  const start = 8 + n;
  const tensors = Object.fromEntries(
    found.map(([name, dtype, shape, begin, end]) => [
      name,
      { dtype, shape: [...shape], data: bytes.slice(start + begin, start + end) },
    ]),
  );
  return { tensors, metadata };
}
