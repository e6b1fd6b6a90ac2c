/**
 * A character vocabulary for sequence tasks: characters to integer ids and back.
 *
 * @module
 */

import type { Device } from "../core/backend.ts";
import type { Tensor } from "../core/tensor.ts";
import { tensor } from "../ops/creation.ts";

/** The saved form of a `Vocab`: its characters in id order. */
export interface VocabJSON {
  /** The characters, id order (sorted by code point, no repeats). */
  chars: string;
}

/** Options of `Vocab.encode`. */
export interface EncodeOptions {
  /** The device of the result (default: the current default device). */
  device?: Device;
}

function show(c: string): string {
  return JSON.stringify(c);
}

function byCodePoint(a: string, b: string): number {
  return a.codePointAt(0)! - b.codePointAt(0)!;
}

/**
 * Maps characters to ids and back. The ids are the positions of the characters sorted by code
 * point, so the same characters always give the same ids; the padding space `" "` and the
 * decoder's start marker `"_"` are always included.
 *
 * @example
 * ```ts
 * import { data } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const vocab = new data.Vocab(["1+2", "_3"]);
 * assert.deepEqual(vocab.chars, [" ", "+", "1", "2", "3", "_"]);
 * const ids = vocab.encode(["1+2", "2+1"]);
 * assert.deepEqual([ids.shape, ids.dtype], [[2, 3], "int32"]);
 * assert.deepEqual(vocab.decode(ids), ["1+2", "2+1"]);
 * ```
 */
export class Vocab {
  /** The characters, indexed by id. */
  readonly chars: readonly string[];
  readonly #ids: Map<string, number>;

  /**
   * A vocabulary of the characters of `texts`, plus `" "` and `"_"`.
   *
   * @example
   * ```ts
   * import { data } from "@nabla/nabla";
   * import assert from "node:assert/strict";
   * assert.equal(new data.Vocab(["abc", "cab"]).size, 5);
   * ```
   */
  constructor(texts: Iterable<string>) {
    const set = new Set<string>([" ", "_"]);
    for (const text of texts) {
      if (typeof text !== "string") {
        throw new TypeError(`Vocab: expected strings, got ${typeof text}`);
      }
      for (const c of text) set.add(c);
    }
    this.chars = Object.freeze([...set].sort(byCodePoint));
    this.#ids = new Map(this.chars.map((c, i) => [c, i]));
  }

  /**
   * A vocabulary saved with `toJSON` (an object or its JSON text).
   *
   * @example
   * ```ts
   * import { data } from "@nabla/nabla";
   * import assert from "node:assert/strict";
   * const vocab = new data.Vocab(["hello"]);
   * const back = data.Vocab.fromJSON(JSON.stringify(vocab));
   * assert.deepEqual(back.chars, vocab.chars);
   * ```
   */
  static fromJSON(json: VocabJSON | string): Vocab {
    const obj: unknown = typeof json === "string" ? JSON.parse(json) : json;
    const chars = (obj as { chars?: unknown } | null)?.chars;
    if (typeof chars !== "string") {
      throw new TypeError("Vocab.fromJSON: expected an object { chars: string } from toJSON()");
    }
    const vocab = new Vocab([chars]);
    if (vocab.chars.join("") !== chars) {
      throw new RangeError(
        `Vocab.fromJSON: chars ${
          show(chars)
        } are not unique, sorted and with " " and "_"; expected ${show(vocab.chars.join(""))}`,
      );
    }
    return vocab;
  }

  /** The number of characters (ids are `0..size-1`). */
  get size(): number {
    return this.chars.length;
  }

  /**
   * The id of one character; a RangeError names a character not in the vocabulary.
   *
   * @example
   * ```ts
   * import { data } from "@nabla/nabla";
   * import assert from "node:assert/strict";
   * const vocab = new data.Vocab(["ab"]);
   * assert.deepEqual([vocab.id(" "), vocab.id("_"), vocab.id("a")], [0, 1, 2]);
   * ```
   */
  id(char: string): number {
    const i = this.#ids.get(char);
    if (i === undefined) {
      throw new RangeError(`Vocab: unknown character ${show(char)} (not among ${this.size})`);
    }
    return i;
  }

  /**
   * Encodes strings of one length `T` as an int32 tensor `[N, T]`. A string of another length
   * or an unknown character is a RangeError that names it.
   *
   * @example
   * ```ts
   * import { data } from "@nabla/nabla";
   * import assert from "node:assert/strict";
   * const vocab = new data.Vocab(["abc"]);
   * assert.deepEqual(vocab.encode(["ab ", "c_a"]).arraySync(), [[2, 3, 0], [4, 1, 2]]);
   * ```
   */
  encode(strings: readonly string[], opts: EncodeOptions = {}): Tensor {
    if (!Array.isArray(strings)) {
      throw new TypeError("Vocab.encode: expected an array of strings");
    }
    const n = strings.length;
    let t = -1;
    let out = new Int32Array(0);
    for (let r = 0; r < n; r++) {
      const s = strings[r];
      if (typeof s !== "string") {
        throw new TypeError(`Vocab.encode: element ${r} is a ${typeof s}, not a string`);
      }
      const cs = [...s];
      if (t < 0) {
        t = cs.length;
        out = new Int32Array(n * t);
      } else if (cs.length !== t) {
        throw new RangeError(
          `Vocab.encode: all strings must have one length; string 0 has length ${t}, ` +
            `string ${r} ${show(s)} has length ${cs.length}`,
        );
      }
      for (let j = 0; j < t; j++) {
        const i = this.#ids.get(cs[j]);
        if (i === undefined) {
          throw new RangeError(
            `Vocab.encode: unknown character ${show(cs[j])} in string ${r} ${show(s)}`,
          );
        }
        out[r * t + j] = i;
      }
    }
    return tensor(out, { shape: [n, Math.max(t, 0)], dtype: "int32", device: opts.device });
  }

  /**
   * Decodes ids `[N, T]` (an integer tensor on the CPU, or nested arrays) to `N` strings. An id
   * outside `0..size-1` is a RangeError that names it.
   *
   * @example
   * ```ts
   * import { data } from "@nabla/nabla";
   * import assert from "node:assert/strict";
   * const vocab = new data.Vocab(["abc"]);
   * assert.deepEqual(vocab.decode([[2, 3, 0], [4, 1, 2]]), ["ab ", "c_a"]);
   * ```
   */
  decode(ids: Tensor | readonly ArrayLike<number>[]): string[] {
    let rows: ArrayLike<number>[];
    if (Array.isArray(ids)) {
      rows = ids as ArrayLike<number>[];
    } else {
      const x = ids as Tensor;
      if (x.ndim !== 2) {
        throw new RangeError(`Vocab.decode: expected ids [N, T], got ${x.describe()}`);
      }
      if (x.dtype !== "int32") {
        throw new TypeError(`Vocab.decode: expected int32 ids, got ${x.describe()}`);
      }
      const flat = x.dataSync();
      const [n, t] = x.shape;
      rows = Array.from({ length: n }, (_, r) => flat.subarray(r * t, (r + 1) * t));
    }
    return rows.map((row, r) => {
      let s = "";
      for (let j = 0; j < row.length; j++) {
        const c = this.chars[row[j]];
        if (c === undefined) {
          throw new RangeError(
            `Vocab.decode: id ${row[j]} at [${r}, ${j}] is not in 0..${this.size - 1}`,
          );
        }
        s += c;
      }
      return s;
    });
  }

  /**
   * The saved form, for `JSON.stringify` and `Vocab.fromJSON`.
   *
   * @example
   * ```ts
   * import { data } from "@nabla/nabla";
   * import assert from "node:assert/strict";
   * assert.equal(JSON.stringify(new data.Vocab(["ba"])), '{"chars":" _ab"}');
   * ```
   */
  toJSON(): VocabJSON {
    return { chars: this.chars.join("") };
  }
}
