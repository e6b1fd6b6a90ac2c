// Each example runs as a user would run it: as a subprocess `deno run`, with exactly the
// permissions its header's `Run:` line gives, from the repository root. The subprocesses need
// `--allow-run=deno`.

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
// The subprocesses run on their default device whatever this process's, so the pass of the
// suite on the reference device (NABLA_DEVICE=cpu) would only repeat them.
const ignore = Deno.env.get("NABLA_DEVICE") === "cpu";
const test = (name: string, fn: (t: Deno.TestContext) => Promise<void>) =>
  Deno.test({ name, ignore, fn });
const EXAMPLES = ["spiral", "sin_regression", "seq2seq_attention", "tour"] as const;
type Example = typeof EXAMPLES[number];

/** The permission flags of the example's documented command, read from its header. */
async function headerPermissions(example: Example): Promise<string[]> {
  const source = await Deno.readTextFile(`${root}examples/${example}.ts`);
  const run = source.match(/Run: `deno run ((?:--allow-[a-z]+ )*)examples\/(\w+)\.ts`/);
  assert.ok(run, `${example}.ts: no "Run: \`deno run ... examples/${example}.ts\`" line`);
  assert.equal(run[2], example);
  return run[1].split(" ").filter((flag) => flag !== "");
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(example: Example, args: string[], extra: string[] = []): Promise<Result> {
  const permissions = [...await headerPermissions(example), ...extra];
  const { code, stdout, stderr } = await new Deno.Command("deno", {
    args: ["run", ...permissions, `examples/${example}.ts`, ...args],
    cwd: root,
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

function assertCleanFailure(result: Result, ...mentions: string[]) {
  assert.equal(result.code, 2, result.stderr);
  assert.doesNotMatch(result.stderr, /Uncaught|^\s+at /m, "a stack trace instead of a message");
  for (const text of mentions) assert.ok(result.stderr.includes(text), result.stderr);
}

async function withTempDir(body: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "nabla_examples_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

test("examples: --help prints the usage and exits 0", async () => {
  for (const example of EXAMPLES) {
    const { code, stdout, stderr } = await run(example, ["--help"]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, new RegExp(`Usage: deno run .*examples/${example}\\.ts`));
    assert.match(stdout, /--help/);
  }
});

test("examples: bad flags name the flag, the value and what is valid", async (t) => {
  for (const example of EXAMPLES) {
    await t.step(`${example}: an unknown flag`, async () => {
      assertCleanFailure(await run(example, ["--bogus", "1"]), "--bogus", "--help");
    });
  }
  for (const example of ["spiral", "sin_regression", "seq2seq_attention"] as const) {
    await t.step(`${example}: --device gpu`, async () => {
      assertCleanFailure(
        await run(example, ["--device", "gpu"]),
        "--device",
        '"gpu"',
        "wasm, cpu, webgpu",
      );
    });
  }
  await t.step("spiral: --epochs abc, --lr -1, --out x.jpg, --epochs without a value", async () => {
    assertCleanFailure(await run("spiral", ["--epochs", "abc"]), "--epochs", '"abc"', "whole");
    assertCleanFailure(await run("spiral", ["--lr=-1"]), "--lr", '"-1"', "> 0");
    assertCleanFailure(await run("spiral", ["--out", "x.jpg"]), "--out", '"x.jpg"', ".svg");
    assertCleanFailure(await run("spiral", ["--epochs"]), "--epochs needs a value");
  });
  await t.step("seq2seq_attention: --task date, --model big, --hidden 0", async () => {
    const task = await run("seq2seq_attention", ["--task", "date"]);
    assertCleanFailure(task, "--task", '"date"', "dates, addition");
    const model = await run("seq2seq_attention", ["--model=big"]);
    assertCleanFailure(model, "--model", '"big"', "attention, seq2seq");
    assertCleanFailure(await run("seq2seq_attention", ["--hidden", "0"]), "--hidden", '"0"');
  });
});

test("spiral: a short run prints its progress and summary and draws an SVG", async () => {
  await withTempDir(async (dir) => {
    const out = `${dir}/spiral.svg`;
    const { code, stdout, stderr } = await run("spiral", ["--epochs", "4", "--out", out]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /epoch 4\/4 {2}loss \d\.\d{4}/);
    assert.match(stdout, /accuracy \d+\.\d% on the training points/);
    const svg = await Deno.readTextFile(out);
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    for (const label of ["x₁", "x₂", "epoch", "training loss (cross-entropy)"]) {
      assert.ok(svg.includes(label), `no axis label ${label}`);
    }
  });
});

test("spiral: a .png picture with --allow-read", async () => {
  await withTempDir(async (dir) => {
    const out = `${dir}/spiral.png`;
    const args = ["--epochs", "1", "--out", out];
    const denied = await run("spiral", args);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /--allow-read/);
    const { code, stderr } = await run("spiral", args, ["--allow-read"]);
    assert.equal(code, 0, stderr);
    const png = await Deno.readFile(out);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });
});

test("sin_regression: a short run draws the data, the fit and the loss", async () => {
  await withTempDir(async (dir) => {
    const out = `${dir}/sine.svg`;
    const { code, stdout, stderr } = await run("sin_regression", [
      "--iterations",
      "20",
      "--out",
      out,
    ]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /iteration 20\/20 {2}loss \d\.\d{4}/);
    assert.match(stdout, /mean squared error \d\.\d{4} -> \d\.\d{4}/);
    const svg = await Deno.readTextFile(out);
    for (const label of ["model", "sin(2πx) + ½", "iteration", "mean squared error"]) {
      assert.ok(svg.includes(label), `no label ${label}`);
    }
  });
});

test("seq2seq_attention: checkpoints are written only by a completed run", async (t) => {
  await withTempDir(async (dir) => {
    const checkpoint = `${dir}/tiny.safetensors`;
    const out = `${dir}/seq2seq.svg`;
    const tiny = ["--task", "addition", "--limit", "40", "--hidden", "8", "--batch", "16"];
    const files = ["--checkpoint", checkpoint, "--out", out];

    await t.step(
      "a completed run saves the parameters and draws curves and attention",
      async () => {
        const { code, stdout, stderr } = await run("seq2seq_attention", [...tiny, ...files]);
        assert.equal(code, 0, stderr);
        assert.match(stdout, /held-out exact match \d+\.\d\d%/);
        assert.ok(stdout.includes(`saved the parameters to ${checkpoint}`), stdout);
        await assert.rejects(Deno.stat(`${checkpoint}.partial`), Deno.errors.NotFound);
        const svg = await Deno.readTextFile(out);
        for (const label of ["training loss", "held-out exact match", "attention weight"]) {
          assert.ok(svg.includes(label), `no label ${label}`);
        }
      },
    );
    const saved = await Deno.readFile(checkpoint);

    await t.step("a bad flag leaves the checkpoint as it was", async () => {
      const result = await run("seq2seq_attention", [...tiny, ...files, "--epochs", "abc"]);
      assertCleanFailure(result, "--epochs", '"abc"');
      assert.deepEqual(await Deno.readFile(checkpoint), saved);
    });

    await t.step("--resume with another --hidden says which shapes differ", async () => {
      const args = [...tiny, ...files, "--resume", "--hidden", "12"];
      const { code, stderr } = await run("seq2seq_attention", args);
      assert.equal(code, 1);
      assert.doesNotMatch(stderr, /Uncaught|^\s+at /m);
      assert.match(stderr, /--resume: .* holds .* of shape \[.*\], the model wants \[.*\]/);
      assert.deepEqual(await Deno.readFile(checkpoint), saved);
    });

    await t.step("--resume continues from the saved parameters", async () => {
      const { code, stdout, stderr } = await run("seq2seq_attention", [
        ...tiny,
        ...files,
        "--resume",
      ]);
      assert.equal(code, 0, stderr);
      assert.ok(stdout.includes(`resumed from ${checkpoint}`), stdout);
    });
  });
});

test("tour: runs without permissions", async () => {
  const { code, stdout, stderr } = await run("tour", []);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /fitted: w = 2\.99\d*, b = -1/);
});
