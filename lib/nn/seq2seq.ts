/**
 * Encoder–decoder models for sequence-to-sequence tasks: an LSTM encoder that keeps every
 * hidden state, and an LSTM decoder that either reads only the encoder's final state (plain
 * seq2seq) or also attends over all encoder states at every step (dot-product attention).
 *
 * @module
 */

import { fmt } from "../core/shape.ts";
import type { Tensor } from "../core/tensor.ts";
import { full, zerosLike } from "../ops/creation.ts";
import { concat, transpose } from "../ops/shape.ts";
import { scan } from "../transforms/scan.ts";
import { type Key, split } from "../random/mod.ts";
import { dotProductAttention } from "./attention.ts";
import { embedding, type EmbeddingParams, linear, type LinearParams } from "./layers.ts";
import { lstm, type LstmParams, type LstmState } from "./recurrent.ts";
import { checkOptions } from "./_checks.ts";

/** The size of a seq2seq model. */
export interface Seq2seqConfig {
  /** Number of token ids (shared by inputs and outputs). */
  vocabSize: number;
  /** Width of the token embeddings (default 16). */
  embedDim?: number;
  /** Width of the LSTM states (default 256). */
  hiddenSize?: number;
  /** Attend over the encoder states at every decoder step (default true). */
  attention?: boolean;
  /**
   * Recompute each LSTM step in the backward pass instead of storing its gates (default
   * false): less memory for long sequences, some more computation.
   */
  checkpoint?: boolean;
}

/** The parameters of `seq2seq`. */
export interface Seq2seqParams {
  /** The encoder: embedding then LSTM. */
  encoder: { embed: EmbeddingParams; lstm: LstmParams };
  /** The decoder: embedding, LSTM, and the output layer. */
  decoder: { embed: EmbeddingParams; lstm: LstmParams; out: LinearParams };
}

/** What a decoder pass gives: logits per step, and attention weights when attending. */
export interface Seq2seqOutput {
  /** Unnormalized scores `[B, T_out, vocabSize]`. */
  logits: Tensor;
  /** Attention weights `[B, T_out, T_in]` (absent without attention); rows sum to 1. */
  weights?: Tensor;
}

/** A seq2seq model: `{ init, apply }` for training and `generate` for greedy decoding. */
export interface Seq2seq {
  /** The configuration with defaults filled in. */
  readonly config: Required<Seq2seqConfig>;
  /** Fresh parameters. */
  init(key: Key): Seq2seqParams;
  /** Teacher-forced decoding: `inputs [B, T_in]` ids, `decoderInputs [B, T_out]` ids. */
  apply(params: Seq2seqParams, inputs: Tensor, decoderInputs: Tensor): Seq2seqOutput;
  /** Greedy decoding of `length` tokens, starting from the token `start`. */
  generate(
    params: Seq2seqParams,
    inputs: Tensor,
    start: number,
    length: number,
  ): { ids: Tensor; weights?: Tensor };
}

/**
 * A sequence-to-sequence model (see the module doc). The decoder starts from the encoder's
 * final hidden state and a zero cell state. With attention, the decoder's output layer reads
 * `[context, h]`, where `context` is the attention-weighted sum of the encoder states and the
 * scores are plain dot products `hs · h`. It is the attention seq2seq of "Deep Learning from
 * Scratch 2" (chapter 8): from the same weights and batches it takes the same steps.
 *
 * @example
 * ```ts
 * import { nn, random, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const model = nn.seq2seq({ vocabSize: 12, hiddenSize: 8 });
 * const params = model.init(random.key(0));
 * const x = tensor([[1, 2, 3]], { dtype: "int32" });
 * const { logits, weights } = model.apply(params, x, tensor([[0, 4]], { dtype: "int32" }));
 * assert.deepEqual([logits.shape, weights!.shape], [[1, 2, 12], [1, 2, 3]]);
 * assert.deepEqual(model.generate(params, x, 0, 5).ids.shape, [1, 5]);
 * ```
 */
export function seq2seq(config: Seq2seqConfig): Seq2seq {
  checkOptions("seq2seq", "config", config);
  const settings: Required<Seq2seqConfig> = {
    embedDim: 16,
    hiddenSize: 256,
    attention: true,
    checkpoint: false,
    ...config,
  };
  const { vocabSize, embedDim, hiddenSize: H, attention, checkpoint } = settings;
  const embed = embedding(vocabSize, embedDim);
  const encoderLstm = lstm(embedDim, H, { checkpoint });
  const decoderLstm = lstm(embedDim, H, { checkpoint });
  const out = linear(attention ? 2 * H : H, vocabSize);

  const encode = (p: Seq2seqParams, inputs: Tensor) => {
    if (inputs.ndim !== 2 || inputs.dtype !== "int32") {
      throw new TypeError(`nn.seq2seq: inputs must be int32 ids [B, T], got ${inputs.describe()}`);
    }
    return encoderLstm.apply(p.encoder.lstm, embed.apply(p.encoder.embed, inputs));
  };

  // The decoder starts from the encoder's last hidden state and a zero cell state, as the
  // classic attention seq2seq does ("Deep Learning from Scratch 2", chapter 8).
  const startState = (enc: LstmState): LstmState => ({ h: enc.h, c: zerosLike(enc.c) });

  // Runs the decoder over `ids` from `state`, reading the encoder states `hs`.
  const decode = (p: Seq2seqParams, hs: Tensor, ids: Tensor, state: LstmState) => {
    const dec = decoderLstm.apply(p.decoder.lstm, embed.apply(p.decoder.embed, ids), state);
    if (!attention) return { logits: out.apply(p.decoder.out, dec.hs), state: dec };
    const { out: context, weights } = dotProductAttention(dec.hs, hs, hs, { scale: 1 });
    const logits = out.apply(p.decoder.out, concat([context, dec.hs], -1));
    return { logits, weights, state: dec };
  };

  return {
    config: settings,
    init: (key) => {
      const [k1, k2, k3, k4, k5] = split(key, 5);
      return {
        encoder: { embed: embed.init(k1), lstm: encoderLstm.init(k2) },
        decoder: { embed: embed.init(k3), lstm: decoderLstm.init(k4), out: out.init(k5) },
      };
    },
    apply: (params, inputs, decoderInputs) => {
      if (decoderInputs.ndim !== 2 || decoderInputs.shape[0] !== inputs.shape[0]) {
        throw new RangeError(
          `nn.seq2seq: decoder inputs ${fmt(decoderInputs.shape)} must be [B, T] with B = ${
            inputs.shape[0]
          }`,
        );
      }
      const enc = encode(params, inputs);
      const { logits, weights } = decode(params, enc.hs, decoderInputs, startState(enc));
      return weights ? { logits, weights } : { logits };
    },
    generate: (params, inputs, start, length) => {
      const enc = encode(params, inputs);
      const token = full([inputs.shape[0], 1], start, { dtype: "int32", device: inputs.device });
      // Greedy decoding is a loop too: each step feeds back its most likely token.
      const [, steps] = scan(
        (s: { state: LstmState; token: Tensor }) => {
          const out = decode(params, enc.hs, s.token, s.state);
          const next = out.logits.argmax({ axis: -1 });
          const state = { h: out.state.h, c: out.state.c };
          return [{ state, token: next }, { token: next, weights: out.weights }];
        },
        { state: startState(enc), token },
        null,
        { length },
      );
      // Steps come out time-major: [length, B, 1, ...].
      const batchMajor = (x: Tensor) =>
        transpose(x, [1, 0, ...x.shape.slice(2).map((_, i) => i + 2)]);
      const ids = batchMajor(steps.token).reshape([inputs.shape[0], length]);
      if (!attention) return { ids };
      const w = steps.weights!;
      return { ids, weights: batchMajor(w).reshape([inputs.shape[0], length, w.shape[3]]) };
    },
  };
}
