/**
 * The memory tests' measure: a training loop run in a fresh process, from a file, as a user
 * runs one, and how much its resident set grew from step 100 to step 1000.
 *
 * @module
 */

import assert from "node:assert/strict";

/** How the loop's process is started (its default device is `wasm`). */
export interface LoopProcess {
  /**
   * The size V8's young generation starts at, in MiB per semi-space. V8 starts it small and
   * doubles it once enough objects have survived collections, up to the size a loop's garbage
   * calls for (8 MiB a semi-space for the wasm loops, 16 for the WebGPU ones, whose steps
   * make more objects); every allocating program gets there, but whether that one-time growth
   * falls inside the measured steps is a matter of timing. Starting at the final size leaves
   * the window to the loop's own growth.
   */
  semiSpaceMiB: number;
}

/**
 * Runs `code`, a training loop that calls `mark()` once per step (at least 1000 steps), in a
 * fresh process and returns how many MiB its resident set grew from step 100 to step 1000.
 *
 * @example
 * ```ts ignore
 * const growth = await rssGrowth("for (let i = 0; i < 1000; i++) mark();", { semiSpaceMiB: 8 });
 * ```
 */
export async function rssGrowth(code: string, process: LoopProcess): Promise<number> {
  const file = await Deno.makeTempFile({ prefix: "nabla_loop_", suffix: ".ts" });
  // (A module's imports are hoisted above the counter.)
  await Deno.writeTextFile(
    file,
    `let steps = 0;
const rss: Record<number, number> = {};
function mark() {
  if (++steps === 100 || steps === 1000) rss[steps] = Deno.memoryUsage().rss;
}
${code}
console.log(JSON.stringify(rss));`,
  );
  const { code: status, stdout, stderr } = await new Deno.Command("deno", {
    args: ["run", "--quiet", `--v8-flags=--min-semi-space-size=${process.semiSpaceMiB}`, file],
    // V8 compiles hot functions on background threads, and glibc keeps what each thread
    // frees in an arena of that thread's own: in the first thousand steps of a fresh process
    // this leaves up to about 15 MiB of compiler memory resident, varying from run to run
    // (with V8's compilers on the main thread, the loop grows by about 3 MiB). With one arena
    // for every thread that memory is reused, and the growth measured is the loop's own.
    env: { NABLA_DEVICE: "wasm", MALLOC_ARENA_MAX: "1" },
    stdin: "null",
  }).output().finally(() => Deno.remove(file));
  assert.equal(status, 0, new TextDecoder().decode(stderr));
  const rss = JSON.parse(new TextDecoder().decode(stdout).trim().split("\n").at(-1)!);
  return (rss[1000] - rss[100]) / 2 ** 20;
}

/**
 * The opening of a loop file: the library imported as `nb` (with `data`, `nn`, `optim` and
 * `random`), then `setup`, which defines `model`, `opt` (an Adam) and the spiral's `x` and
 * `t`, then `step(params, state)`: the jitted training step returning `[params, state, loss]`,
 * with the parameters and the optimizer state donated.
 *
 * @example
 * ```ts ignore
 * const code = jittedAdamStep(`const model = nn.mlp([2, 8, 3]);
 * const opt = optim.adam(1e-3);
 * const { x, t } = data.spiral();`);
 * ```
 */
export function jittedAdamStep(setup: string): string {
  return `import * as nb from ${JSON.stringify(new URL("../../mod.ts", import.meta.url).href)};
const { data, nn, optim, random } = nb;
${setup}
type Params = ReturnType<typeof model.init>;
const step = nb.jit((params: Params, state: nb.optim.AdamState) => {
  const loss = (p: Params) => nn.softmaxCrossEntropy(model.apply(p, x), t);
  const [value, grads] = nb.valueAndGrad(loss)(params);
  const [updates, next] = opt.update(grads, state, params);
  return [optim.applyUpdates(params, updates), next, value] as const;
}, { donateArgnums: [0, 1] });
`;
}
