/**
 * `lstm`: a long short-term memory layer over whole sequences, returning every hidden state
 * (as an attention encoder needs) and the final state. The time loop is a `scan`, so `grad`
 * and `jit` see one loop whatever the sequence length.
 *
 * @module
 */

import { promoteTypes } from "../core/dtype.ts";
import { fmt } from "../core/shape.ts";
import type { Tensor } from "../core/tensor.ts";
import { full, zeros } from "../ops/creation.ts";
import { sigmoid, tanh } from "../ops/elementwise.ts";
import { matmul } from "../ops/linalg.ts";
import { concat, split, transpose } from "../ops/shape.ts";
import { normal, split as splitKey } from "../random/mod.ts";
import { checkpoint } from "../transforms/checkpoint.ts";
import { scan } from "../transforms/scan.ts";
import type { Module } from "./module.ts";
import { checkOptions, checkSize } from "./_checks.ts";

// Every step's input projection x·wx + b as one product: the inputs with a column of ones,
// the weights with the bias as their last row. Where the inputs are narrower than the gates
// (embeddings, as in seq2seq), copying them is cheaper than a pass adding the bias to the
// [T, B, 4H] projection, and the bias's gradient comes out of the weights' product.
function project(timeMajor: Tensor, params: LstmParams): Tensor {
  const [T, B, D] = timeMajor.shape;
  const G = params.wx.shape[1];
  if (D >= G || params.wx.dtype !== params.b.dtype) {
    return matmul(timeMajor, params.wx).add(params.b);
  }
  const ones = full([T, B, 1], 1, { dtype: timeMajor.dtype, device: timeMajor.device });
  const weights = concat([params.wx, params.b.reshape([1, G])], 0);
  return matmul(concat([timeMajor, ones], 2), weights);
}

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

/** Options of {@linkcode lstm}. */
export interface LstmOptions {
  /**
   * Recompute each time step in the backward pass instead of storing it (`checkpoint` per
   * step, the step's input projection included): reverse mode then keeps only each step's
   * input and states `h` and `c`, where it would keep a dozen `[B, H]` values and the
   * `[T, B, 4H]` projection. Default false.
   */
  checkpoint?: boolean;
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
  opts: LstmOptions = {},
): Module<LstmParams, [Tensor, LstmState?], LstmOutput> {
  checkSize("lstm", "inputSize", inputSize);
  checkSize("lstm", "hiddenSize", hiddenSize);
  checkOptions("lstm", "opts", opts);
  const H = hiddenSize;
  // One time step: the gates from the step's input projection and the previous state.
  const cell = (wh: Tensor, state: LstmState, xw: Tensor): LstmState => {
    const [f, g, i, o] = split(xw.add(matmul(state.h, wh)), 4, 1);
    const c = sigmoid(f).mul(state.c).add(tanh(g).mul(sigmoid(i)));
    return { h: sigmoid(o).mul(tanh(c)), c };
  };
  // Checkpointed, a step projects its own input, so that no [T, B, 4H] value is kept at all.
  const projectedCell = checkpoint((p: LstmParams, state: LstmState, x: Tensor): LstmState =>
    cell(p.wh, state, matmul(x, p.wx).add(p.b))
  );
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
      const B = xs.shape[0];
      // Time-major inputs (a transposed copy of the small xs, so that the projection of every
      // step, one matrix product unless checkpointed, comes out time-major and each step's
      // slice of it is contiguous).
      const timeMajor = transpose(xs, [1, 0, 2]);
      const inputs = opts.checkpoint === true ? timeMajor : project(timeMajor, params);
      // The state has the dtype the step computes in (float64 weights make float64 states).
      const dtype = promoteTypes([
        xs.dtype,
        params.wx.dtype,
        params.b.dtype,
        params.wh.dtype,
        ...(state ? [state.h.dtype] : []),
      ]);
      const init = {
        h: (state?.h ?? zeros([B, H], { dtype, device: xs.device })).astype(dtype),
        c: (state?.c ?? zeros([B, H], { dtype, device: xs.device })).astype(dtype),
      };
      const [last, hs] = scan(
        (s: LstmState, x: Tensor) => {
          const next = opts.checkpoint === true
            ? projectedCell(params, s, x)
            : cell(params.wh, s, x);
          return [next, next.h];
        },
        init,
        inputs,
      );
      return { hs: transpose(hs, [1, 0, 2]), h: last.h, c: last.c };
    },
  };
}
