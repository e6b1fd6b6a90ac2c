// The DeZero examples against DeZero's formulas written out in NumPy (bench/numpy_dezero.py):
// the spiral classifier and the sine regression, step by step from the examples' weights over
// their batches. Needs python3 with NumPy (the test fails and says so without them). The whole
// runs are bench/dezero_fidelity.ts.

import assert from "node:assert/strict";
import { firstParting, formatParting } from "../../bench/_fidelity.ts";
import { dezeroFidelity } from "../../bench/dezero_fidelity.ts";

for (const [task, steps] of [["spiral", 100], ["sine", 300]] as const) {
  Deno.test(`${task} fidelity: ${steps} SGD steps agree with DeZero's formulas in float64`, async () => {
    const report = await dezeroFidelity({
      task,
      steps,
      dtype: "float64",
      device: "cpu",
    });
    const parting = firstParting(report.steps, 1e-12);
    assert.equal(parting, undefined, parting && formatParting(parting));
    const [first, last] = [report.steps[0].loss, report.steps.at(-1)!.loss];
    assert.ok(last < 0.9 * first, `loss ${first} -> ${last}`);
  });
}
