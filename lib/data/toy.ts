/**
 * Small generated datasets: DeZero's spiral and a noisy sine.
 *
 * @module
 */

import { checkBoolean, checkInteger, checkOptions } from "./_checks.ts";
import type { Tensor } from "../core/tensor.ts";
import { tensor } from "../ops/creation.ts";
import { key, normal, permutation, split, uniform } from "../random/mod.ts";

/** A classification dataset: inputs and integer labels. */
export interface Labeled {
  /** Inputs `[N, D]`, float32. */
  x: Tensor;
  /** Labels `[N]`, int32. */
  t: Tensor;
}

/**
 * Three classes of 100 points on interleaved spiral arms (DeZero's construction): for class
 * j and i < 100, rate = i/100, θ = 4j + 4·rate + 0.2·N(0,1), point = rate·(sin θ, cos θ),
 * then shuffled. Train and test use different fixed seeds.
 *
 * @example
 * ```ts
 * import { data } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const { x, t } = data.spiral();
 * assert.deepEqual([x.shape, t.shape, t.dtype], [[300, 2], [300], "int32"]);
 * ```
 */
export function spiral(opts: { train?: boolean } = {}): Labeled {
  const { train = true } = checkOptions("spiral", opts);
  checkBoolean("spiral", "train", train);
  const perClass = 100;
  const classes = 3;
  const n = perClass * classes;
  const [noiseKey, shuffleKey] = split(key(train ? 1984 : 2020));
  // Drawn on the CPU to be read here, whatever the default device.
  const noise = normal(noiseKey, [n], { device: "cpu" }).dataSync();
  const order = permutation(shuffleKey, n, { device: "cpu" }).dataSync();
  const xs = new Float32Array(2 * n);
  const ts = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const src = order[k];
    const j = Math.floor(src / perClass);
    const rate = (src % perClass) / perClass;
    const theta = j * 4 + 4 * rate + noise[src] * 0.2;
    xs[2 * k] = rate * Math.sin(theta);
    xs[2 * k + 1] = rate * Math.cos(theta);
    ts[k] = j;
  }
  return { x: tensor(xs, { shape: [n, 2] }), t: tensor(ts) };
}

/** A regression dataset: inputs and targets. */
export interface Regression {
  /** Inputs `[N, 1]`. */
  x: Tensor;
  /** Targets `[N, 1]`. */
  y: Tensor;
}

/**
 * The sine-regression toy: `x ~ U[0, 1)`, `y = sin(2πx) + U[0, 1)`.
 *
 * @example
 * ```ts
 * import { data } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const { x, y } = data.sine();
 * assert.deepEqual([x.shape, y.shape], [[100, 1], [100, 1]]);
 * ```
 */
export function sine(opts: { n?: number; seed?: number } = {}): Regression {
  const { n = 100, seed = 0 } = checkOptions("sine", opts);
  checkInteger("sine", "n", n, 0);
  checkInteger("sine", "seed", seed);
  const [kx, kn] = split(key(seed));
  const x = uniform(kx, [n, 1]);
  const y = x.mul(2 * Math.PI).sin().add(uniform(kn, [n, 1]));
  return { x, y };
}
