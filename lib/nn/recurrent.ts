/**
 * `lstm`: a long short-term memory layer over whole sequences, returning every hidden state
 * (as an attention encoder needs) and the final state.
 *
 * @module
 */

import { fmt } from "../core/shape.ts";
import type { Tensor } from "../core/tensor.ts";
import { scoped } from "../core/trace.ts";
import { zeros } from "../ops/creation.ts";
import { sigmoid, tanh } from "../ops/elementwise.ts";
import { matmul } from "../ops/linalg.ts";
import { slice, split, stack } from "../ops/shape.ts";
import { normal, split as splitKey } from "../random/mod.ts";
import type { Module } from "./module.ts";
import { checkSize } from "./_checks.ts";

/** The parameters of `lstm`; the four gates (forget, cell, input, output) side by side. */
export interface LstmParams {
  /** Input weights `[inputSize, 4·hidden]`. */
  wx: Tensor;
  /** Recurrent weights `[hidden, 4·hidden]`. */
  wh: Tensor;
  /** Bias `[4·hidden]`. */
  b: Tensor;
}

/** The recurrent state of an `lstm`. */
export interface LstmState {
  /** Hidden state `[B, H]`. */
  h: Tensor;
  /** Cell state `[B, H]`. */
  c: Tensor;
}

/** The output of `lstm`: every hidden state and the final state. */
export interface LstmOutput extends LstmState {
  /** Hidden states of every step, `[B, T, H]`. */
  hs: Tensor;
}

/**
 * An LSTM over `xs: [B, T, D]`, starting from `state` (zeros by default). Weights start as
 * N(0, 1/fan-in), biases at zero.
 *
 * @example
 * ```ts
 * import { nn, random, zeros } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const rnn = nn.lstm(3, 5);
 * const params = rnn.init(random.key(0));
 * const { hs, h, c } = rnn.apply(params, zeros([2, 4, 3]));
 * assert.deepEqual([hs.shape, h.shape, c.shape], [[2, 4, 5], [2, 5], [2, 5]]);
 * ```
 */
export function lstm(
  inputSize: number,
  hiddenSize: number,
): Module<LstmParams, [Tensor, LstmState?], LstmOutput> {
  checkSize("lstm", "inputSize", inputSize);
  checkSize("lstm", "hiddenSize", hiddenSize);
  const H = hiddenSize;
  return {
    init: (key) => {
      const [k1, k2] = splitKey(key, 2);
      return {
        wx: normal(k1, [inputSize, 4 * H]).mul(Math.sqrt(1 / inputSize)),
        wh: normal(k2, [H, 4 * H]).mul(Math.sqrt(1 / H)),
        b: zeros([4 * H]),
      };
    },
    apply: (params, xs, state) => {
      if (xs.ndim !== 3 || xs.shape[2] !== inputSize) {
        throw new RangeError(`nn.lstm: expected inputs [B, T, ${inputSize}], got ${fmt(xs.shape)}`);
      }
      const [B, T] = xs.shape;
      // The input projection of every step is one matrix product.
      const xw = matmul(xs, params.wx).add(params.b);
      let h = state?.h ?? zeros([B, H], { dtype: xs.dtype, device: xs.device });
      let c = state?.c ?? zeros([B, H], { dtype: xs.dtype, device: xs.device });
      const hs: Tensor[] = [];
      for (let t = 0; t < T; t++) {
        // Outside a transformation, each step's gates are freed as soon as the step is done.
        [h, c] = scoped(() => {
          const a = slice(xw, [0, t, 0], [B, 1, 4 * H]).reshape([B, 4 * H])
            .add(matmul(h, params.wh));
          const [f, g, i, o] = split(a, 4, 1);
          const next = sigmoid(f).mul(c).add(tanh(g).mul(sigmoid(i)));
          return [sigmoid(o).mul(tanh(next)), next];
        }, (state) => state);
        hs.push(h);
      }
      const all = T === 0 ? zeros([B, 0, H], { dtype: xs.dtype, device: xs.device }) : stack(hs, 1);
      return { hs: all, h, c };
    },
  };
}
