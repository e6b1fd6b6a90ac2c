/**
 * Datasets and minibatching.
 *
 * @module
 */

export * from "./toy.ts";
export * from "./batches.ts";
export * from "./vocab.ts";
export * from "./seq2seq.ts";
