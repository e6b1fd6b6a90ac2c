import assert from "node:assert/strict";
import * as nb from "../mod.ts";
import { type Case, caseName, runCase } from "./_bad_input.ts";
import * as core from "./_bad_input_cases.ts";
import * as namespaces from "./_bad_input_cases_lib.ts";

const areas: Record<string, Case[]> = { ...core, ...namespaces };

async function hasWebGpu(): Promise<boolean> {
  try {
    return (await navigator.gpu?.requestAdapter()) != null;
  } catch {
    return false;
  }
}

Deno.test("the corpus holds at least 300 cases", () => {
  const total = Object.values(areas).reduce((n, cases) => n + cases.length, 0);
  assert.ok(total >= 300, `${total} cases`);
});

for (const device of ["wasm", "cpu", "webgpu"] as const) {
  Deno.test({
    name: `bad inputs on ${device}: each call errs precisely or gives the right value`,
    ignore: device === "webgpu" && !(await hasWebGpu()),
    fn: async (t) => {
      const before = nb.getDefaultDevice();
      await nb.setDevice(device);
      try {
        for (const [area, cases] of Object.entries(areas)) {
          await t.step(area, async () => {
            const failures: string[] = [];
            for (const c of cases) {
              if (c.on !== undefined && !c.on.includes(device)) continue;
              const outcome = await runCase(c);
              if (!outcome.ok) {
                failures.push(`${caseName(c)}\n    ${outcome.kind}: ${outcome.seen}`);
              }
            }
            assert.deepEqual(failures, [], `${failures.length} failing:\n${failures.join("\n")}`);
          });
        }
      } finally {
        await nb.setDevice(before);
      }
    },
  });
}
