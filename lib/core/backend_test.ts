import assert from "node:assert/strict";
import "../../mod.ts";
import {
  type Backend,
  forgetBackend,
  getBackend,
  initBackend,
  registerBackend,
  registerBackendInitializer,
} from "./backend.ts";

Deno.test("calls that come while a device is set up share that set-up", async () => {
  const cpu = getBackend("cpu");
  let setUps = 0;
  let finish = (_: Backend) => {};
  forgetBackend(cpu);
  registerBackendInitializer("cpu", () => {
    setUps++;
    return new Promise<Backend>((resolve) => (finish = resolve));
  });
  try {
    const first = initBackend("cpu"), second = initBackend("cpu");
    await Promise.resolve();
    finish(cpu);
    assert.equal(await first, cpu);
    assert.equal(await second, cpu);
    assert.equal(setUps, 1);
    // Ready now: no further set-up.
    assert.equal(await initBackend("cpu"), cpu);
    assert.equal(setUps, 1);
  } finally {
    registerBackend(cpu);
  }
});

Deno.test("a failed set-up is tried again by the next call", async () => {
  const cpu = getBackend("cpu");
  let setUps = 0;
  forgetBackend(cpu);
  registerBackendInitializer("cpu", () => {
    setUps++;
    return setUps === 1 ? Promise.reject(new Error("adapter lost")) : Promise.resolve(cpu);
  });
  try {
    await assert.rejects(initBackend("cpu"), /adapter lost/);
    assert.equal(await initBackend("cpu"), cpu);
    assert.equal(setUps, 2);
  } finally {
    registerBackend(cpu);
  }
});

Deno.test("a NABLA_DEVICE that cannot start the default device is a TypeError when first used", async (t) => {
  const mod = JSON.stringify(new URL("../../mod.ts", import.meta.url).href);
  // A fresh process: the variable is read when the library loads.
  const run = async (device: string) => {
    const code = `import * as nb from ${mod};
try { nb.zeros([1]); console.log("made on " + nb.getDefaultDevice()); }
catch (e) { console.log(e.name + ": " + e.message); }
await nb.setDevice("cpu");
console.log("then " + nb.zeros([1]).device);`;
    const { stdout } = await new Deno.Command("deno", {
      args: ["eval", "--quiet", code],
      env: { NABLA_DEVICE: device },
      stdin: "null",
    }).output();
    return new TextDecoder().decode(stdout).trim().split("\n");
  };
  await t.step("webgpu, which only setDevice can start", async () => {
    const [first, then] = await run("webgpu");
    assert.match(first, /^TypeError: NABLA_DEVICE=webgpu cannot pick the starting device/);
    assert.match(first, /await setDevice\("webgpu"\)/);
    assert.equal(then, "then cpu");
  });
  await t.step("a name that is no device", async () => {
    const [first, then] = await run("gpu");
    assert.equal(
      first,
      "TypeError: NABLA_DEVICE=gpu names no device: set it to wasm or cpu, or leave it unset",
    );
    assert.equal(then, "then cpu");
  });
  await t.step("cpu, as the reference test run sets it", async () => {
    assert.deepEqual(await run("cpu"), ["made on cpu", "then cpu"]);
  });
});
