/** Assertions shared by the operation tests. */

import assert from "node:assert/strict";
import * as nb from "../../mod.ts";

/** Checks that `x` is a tensor on the default device of `dtype` and `shape` holding exactly `expected`. */
export async function expectExact(
  x: nb.Tensor,
  expected: nb.NestedArray,
  shape: number[],
  dtype: nb.DType = "float32",
): Promise<void> {
  assert.ok(x instanceof nb.Tensor, "result must be a Tensor");
  assert.equal(x.dtype, dtype);
  assert.deepEqual(x.shape, shape);
  assert.equal(x.device, nb.getDefaultDevice());
  assert.deepEqual(await x.toArray(), expected);
}
