/**
 * Command-line flags for the examples, declared once with their help text. Parsing is strict:
 * an unknown flag, a missing value, a number that is not one or a value outside its choices ends
 * the program with a message that names the flag, the value and what was expected, and exit
 * code 2; `--help` prints the usage and exits 0.
 *
 * @module
 */

/** One flag: how to show it in the usage and how to read its value. */
export interface Flag<T> {
  /** What the flag does, for the usage. */
  readonly help: string;
  /** The value when the flag is not given. */
  readonly default: T;
  /** The value's form in the usage (`N`, `PATH`, `a|b|c`); empty for a switch. */
  readonly placeholder: string;
  /** Reads the flag's value; throws a {@linkcode FlagError} that says what was expected. */
  parse(text: string): T;
}

/**
 * A flag's value that cannot be read; the message says what was expected.
 *
 * @example
 * ```ts
 * import { FlagError, int } from "./_cli.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => int(1, "steps").parse("x"), FlagError);
 * ```
 */
export class FlagError extends Error {
  override name = "FlagError";
}

/**
 * A whole number of at least `min` (default 1).
 *
 * @example
 * ```ts
 * import { int } from "./_cli.ts";
 * import assert from "node:assert/strict";
 * assert.equal(int(10, "epochs").parse("3"), 3);
 * assert.throws(() => int(10, "epochs").parse("abc"), /expected a whole number ≥ 1, got "abc"/);
 * ```
 */
export function int(fallback: number, help: string, { min = 1 } = {}): Flag<number> {
  return {
    help,
    default: fallback,
    placeholder: "N",
    parse(text) {
      const value = Number(text);
      if (text.trim() === "" || !Number.isSafeInteger(value) || value < min) {
        throw new FlagError(`expected a whole number ≥ ${min}, got ${JSON.stringify(text)}`);
      }
      return value;
    },
  };
}

/**
 * A finite number greater than 0.
 *
 * @example
 * ```ts
 * import { positive } from "./_cli.ts";
 * import assert from "node:assert/strict";
 * assert.equal(positive(1, "learning rate").parse("0.5"), 0.5);
 * assert.throws(() => positive(1, "learning rate").parse("-1"), /expected a number > 0/);
 * ```
 */
export function positive(fallback: number, help: string): Flag<number> {
  return {
    help,
    default: fallback,
    placeholder: "X",
    parse(text) {
      const value = Number(text);
      if (text.trim() === "" || !Number.isFinite(value) || value <= 0) {
        throw new FlagError(`expected a number > 0, got ${JSON.stringify(text)}`);
      }
      return value;
    },
  };
}

/**
 * One of a fixed set of words.
 *
 * @example
 * ```ts
 * import { choice } from "./_cli.ts";
 * import assert from "node:assert/strict";
 * const device = choice(["wasm", "cpu"], "wasm", "where to compute");
 * assert.equal(device.parse("cpu"), "cpu");
 * assert.throws(() => device.parse("gpu"), /expected one of wasm, cpu, got "gpu"/);
 * ```
 */
export function choice<const C extends string>(
  choices: readonly C[],
  fallback: C,
  help: string,
): Flag<C> {
  return {
    help,
    default: fallback,
    placeholder: choices.join("|"),
    parse(text) {
      if (!(choices as readonly string[]).includes(text)) {
        throw new FlagError(
          `expected one of ${choices.join(", ")}, got ${JSON.stringify(text)}`,
        );
      }
      return text as C;
    },
  };
}

/**
 * A file path ending in one of `extensions` (any path when none are given).
 *
 * @example
 * ```ts
 * import { path } from "./_cli.ts";
 * import assert from "node:assert/strict";
 * const out = path("plot.svg", "the picture", [".svg", ".png"]);
 * assert.equal(out.parse("a.png"), "a.png");
 * assert.throws(() => out.parse("a.jpg"), /ending in .svg or .png/);
 * ```
 */
export function path(fallback: string, help: string, extensions: string[] = []): Flag<string> {
  return {
    help,
    default: fallback,
    placeholder: "PATH",
    parse(text) {
      if (text === "") throw new FlagError("expected a path, got an empty string");
      if (extensions.length > 0 && !extensions.some((ext) => text.endsWith(ext))) {
        throw new FlagError(
          `expected a path ending in ${extensions.join(" or ")}, got ${JSON.stringify(text)}`,
        );
      }
      return text;
    },
  };
}

/**
 * A switch: `true` when given, with no value.
 *
 * @example
 * ```ts
 * import { parseFlags, toggle } from "./_cli.ts";
 * import assert from "node:assert/strict";
 * const program = { about: "", run: "", flags: { resume: toggle("continue") } };
 * assert.deepEqual(parseFlags(program, ["--resume"]), { resume: true });
 * assert.deepEqual(parseFlags(program, []), { resume: false });
 * ```
 */
export function toggle(help: string): Flag<boolean> {
  return {
    help,
    default: false,
    placeholder: "",
    parse: () => true,
  };
}

/** The values of a set of flags, by name. */
export type Values<S extends Record<string, Flag<unknown>>> = {
  [K in keyof S]: S[K] extends Flag<infer T> ? T : never;
};

/** What a program is, for its usage. */
export interface Program<S extends Record<string, Flag<unknown>>> {
  /** One or two sentences: what the program does. */
  about: string;
  /** The command that runs it, with the permissions it needs. */
  run: string;
  /** Its flags, by name (used as `--name`). */
  flags: S;
}

/**
 * Reads `args` (default `Deno.args`) against the program's flags. Prints the usage and exits 0
 * on `--help` or `-h`; prints what is wrong and exits 2 on a bad flag.
 *
 * @example
 * ```ts
 * import { int, parseFlags } from "./_cli.ts";
 * import assert from "node:assert/strict";
 * const program = { about: "Trains.", run: "deno run train.ts", flags: { epochs: int(10, "") } };
 * assert.deepEqual(parseFlags(program, ["--epochs", "3"]), { epochs: 3 });
 * assert.deepEqual(parseFlags(program, ["--epochs=4"]), { epochs: 4 });
 * assert.deepEqual(parseFlags(program, []), { epochs: 10 });
 * ```
 */
export function parseFlags<S extends Record<string, Flag<unknown>>>(
  program: Program<S>,
  args: readonly string[] = Deno.args,
): Values<S> {
  const values: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(program.flags)) values[name] = flag.default;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") {
      console.log(usage(program));
      Deno.exit(0);
    }
    if (!arg.startsWith("--") || arg === "--") {
      fail(`unexpected argument ${JSON.stringify(arg)}: flags start with --`, 2);
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const flag = Object.hasOwn(program.flags, name) ? program.flags[name] : undefined;
    if (flag === undefined) {
      const known = [...Object.keys(program.flags), "help"].map((n) => `--${n}`).join(", ");
      fail(`unknown flag --${name} (known: ${known})`, 2);
    }
    let text: string;
    if (flag.placeholder === "") {
      if (eq >= 0) fail(`--${name} takes no value, got ${JSON.stringify(arg.slice(eq + 1))}`, 2);
      text = "";
    } else if (eq >= 0) {
      text = arg.slice(eq + 1);
    } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
      text = args[++i];
    } else {
      fail(`--${name} needs a value (${flag.placeholder})`, 2);
    }
    try {
      values[name] = flag.parse(text);
    } catch (e) {
      if (!(e instanceof FlagError)) throw e;
      fail(`--${name}: ${e.message}`, 2);
    }
  }
  return values as Values<S>;
}

/**
 * The usage text of a program: what it does, how to run it, and each flag with its default.
 *
 * @example
 * ```ts
 * import { int, usage } from "./_cli.ts";
 * import assert from "node:assert/strict";
 * const text = usage({ about: "Trains.", run: "deno run train.ts", flags: { epochs: int(10, "passes") } });
 * assert.match(text, /Usage: deno run train.ts \[flags\]/);
 * assert.match(text, /--epochs N +passes \(default: 10\)/);
 * ```
 */
export function usage<S extends Record<string, Flag<unknown>>>(program: Program<S>): string {
  const rows = Object.entries(program.flags).map(([name, flag]) => {
    const shown = flag.placeholder === "" || flag.default === ""
      ? ""
      : ` (default: ${flag.default})`;
    return [`--${name}${flag.placeholder ? ` ${flag.placeholder}` : ""}`, flag.help + shown];
  });
  rows.push(["-h, --help", "print this help and exit"]);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return [
    program.about,
    "",
    `Usage: ${program.run} [flags]`,
    "",
    "Flags:",
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`),
  ].join("\n");
}

/**
 * Ends the program with `error: <message>` on stderr and a non-zero exit code (default 1).
 *
 * @example
 * ```ts ignore
 * import { fail } from "./_cli.ts";
 * fail("--device webgpu: no adapter"); // prints "error: --device webgpu: no adapter", exits 1
 * ```
 */
export function fail(message: string, code = 1): never {
  console.error(`error: ${message}`);
  if (code === 2) console.error("Run with --help to see the flags.");
  Deno.exit(code);
}
