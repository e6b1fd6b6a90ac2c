/**
 * Datasets and minibatching.
 *
 * @module
 */

export * from "./toy.ts";
export * from "./batches.ts";
