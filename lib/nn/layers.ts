/**
 * Dense layers: `linear`, `mlp` and `embedding`.
 *
 * @module
 */

import type { Tensor } from "../core/tensor.ts";
import { zeros } from "../ops/creation.ts";
import { take } from "../ops/indexing.ts";
import { matmul } from "../ops/linalg.ts";
import { type Key, normal, split } from "../random/mod.ts";
import { sigmoid } from "../ops/elementwise.ts";
import type { Layer, Module } from "./module.ts";
import { checkSize } from "./_checks.ts";

/** The parameters of `linear`: weights `[in, out]` and, unless disabled, a bias `[out]`. */
export interface LinearParams {
  /** Weights, `[inFeatures, outFeatures]`. */
  w: Tensor;
  /** Bias, `[outFeatures]`. */
  b?: Tensor;
}

/**
 * `x @ w + b`. Weights start as N(0, 1/in) (LeCun normal), biases at zero.
 *
 * @example
 * ```ts
 * import { nn, random, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const layer = nn.linear(3, 2);
 * const params = layer.init(random.key(0));
 * assert.deepEqual(params.w.shape, [3, 2]);
 * assert.deepEqual(layer.apply(params, tensor([[1, 2, 3]])).shape, [1, 2]);
 * ```
 */
export function linear(
  inFeatures: number,
  outFeatures: number,
  opts: { bias?: boolean } = {},
): Layer<LinearParams> {
  checkSize("linear", "inFeatures", inFeatures);
  checkSize("linear", "outFeatures", outFeatures);
  const { bias = true } = opts;
  return {
    init: (key: Key) => {
      const w = normal(key, [inFeatures, outFeatures]).mul(Math.sqrt(1 / inFeatures));
      return bias ? { w, b: zeros([outFeatures]) } : { w };
    },
    apply: (params, x) => {
      const y = matmul(x, params.w);
      return params.b ? y.add(params.b) : y;
    },
  };
}

/**
 * A multi-layer perceptron: `linear` layers of the given sizes with `activation` between
 * them (none after the last).
 *
 * @example
 * ```ts
 * import { nn, random, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const model = nn.mlp([2, 10, 3]);
 * const params = model.init(random.key(0));
 * assert.deepEqual(model.apply(params, tensor([[0.5, -0.5]])).shape, [1, 3]);
 * ```
 */
export function mlp(
  sizes: number[],
  opts: { activation?: (x: Tensor) => Tensor } = {},
): Layer<LinearParams[]> {
  if (!Array.isArray(sizes) || sizes.length < 2) {
    throw new RangeError("nn.mlp: needs at least two sizes (input and output)");
  }
  const { activation = sigmoid } = opts;
  const layers = sizes.slice(1).map((out, i) => linear(sizes[i], out));
  return {
    init: (key) => {
      const keys = split(key, layers.length);
      return layers.map((layer, i) => layer.init(keys[i]));
    },
    apply: (params, x) =>
      layers.reduce((h, layer, i) => {
        const y = layer.apply(params[i], h);
        return i < layers.length - 1 ? activation(y) : y;
      }, x),
  };
}

/** The parameters of `embedding`: one row per token. */
export interface EmbeddingParams {
  /** `[vocabSize, dim]`. */
  table: Tensor;
}

/**
 * Maps integer ids `[...]` to vectors `[..., dim]`. Rows start as N(0, 0.01²).
 *
 * @example
 * ```ts
 * import { nn, random, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const embed = nn.embedding(10, 4);
 * const params = embed.init(random.key(0));
 * const ids = tensor([[1, 2, 3]], { dtype: "int32" });
 * assert.deepEqual(embed.apply(params, ids).shape, [1, 3, 4]);
 * ```
 */
export function embedding(
  vocabSize: number,
  dim: number,
): Module<EmbeddingParams, [Tensor], Tensor> {
  checkSize("embedding", "vocabSize", vocabSize);
  checkSize("embedding", "dim", dim);
  return {
    init: (key) => ({ table: normal(key, [vocabSize, dim]).mul(0.01) }),
    apply: (params, ids) => take(params.table, ids, { axis: 0 }),
  };
}
