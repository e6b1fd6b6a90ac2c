import assert from "node:assert/strict";
import { fromHalfBits, type HalfFormat, toHalfBits } from "./_half.ts";

const hex = (bits: ArrayLike<number>) => Array.from(bits, (b) => `0x${b.toString(16)}`);

/** Float32 values given by their bit patterns (so NaN payloads and subnormals are exact). */
const f32Bits = (...bits: number[]) => new Float32Array(new Uint32Array(bits).buffer);

/** Checks `toHalfBits` on (value, expected bits) rows, float32 or float64 sources. */
function roundsTo(format: HalfFormat, values: Float32Array | Float64Array, expected: number[]) {
  assert.deepEqual(hex(toHalfBits(values, format)), hex(expected));
}

Deno.test("F16 rounding, bit by bit", async (t) => {
  const rows: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [1 / 3, 0x3555], // 0x3555.55…: down
    [65504, 0x7bff], // the largest finite number
    [65519, 0x7bff], // below the halfway point to 65536
    [65520, 0x7c00], // halfway: ties to even, which is infinity
    [1e6, 0x7c00],
    [-1e6, 0xfc00],
    [2 ** -14, 0x0400], // the smallest normal number
    [1023 * 2 ** -24, 0x03ff], // the largest subnormal
    [1023.5 * 2 ** -24, 0x0400], // a tie between them: even
    [2 ** -24, 0x0001], // the smallest subnormal
    [2 ** -25, 0x0000], // a tie with zero: even
    [-(2 ** -25), 0x8000],
    [1.5 * 2 ** -25, 0x0001],
    [3 * 2 ** -25, 0x0002], // 1.5 steps: a tie, even
    [2 ** -26, 0x0000],
    [1 + 2 ** -11, 0x3c00], // a tie: even (down)
    [1 + 3 * 2 ** -11, 0x3c02], // a tie: even (up)
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above a tie
    [2049, 0x6800],
    [2051, 0x6802],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [NaN, 0x7e00],
  ];
  await t.step("from float32", () => {
    roundsTo("F16", new Float32Array(rows.map(([v]) => v)), rows.map(([, b]) => b));
  });
  await t.step("from float64", () => {
    roundsTo("F16", new Float64Array(rows.map(([v]) => v)), rows.map(([, b]) => b));
  });
  await t.step("float64 rounds once (via float32 it would round twice)", () => {
    // 1 + 2^-11 + 2^-40 is above the tie; as float32 it becomes the tie itself.
    roundsTo("F16", new Float64Array([1 + 2 ** -11 + 2 ** -40, 1e300, -1e-300, 5e-324]), [
      0x3c01,
      0x7c00,
      0x8000,
      0x0000,
    ]);
  });
  await t.step("NaNs keep sign and leading payload; a lost payload stays NaN", () => {
    roundsTo("F16", f32Bits(0xffc00000, 0x7fa00000, 0x7f800001, 0x7fffe000), [
      0xfe00,
      0x7d00,
      0x7e00,
      0x7fff,
    ]);
  });
});

Deno.test("BF16 rounding, bit by bit", async (t) => {
  await t.step("from float32", () => {
    const values = f32Bits(
      0x3f800000, // 1
      0xc0000000, // -2
      0x40490fdb, // π: low half 0x0fdb, down
      0x3f808000, // a tie: even (down)
      0x3f818000, // a tie: even (up)
      0x3f808001, // just above a tie
      0x7f7f7fff, // below the tie under float32's largest: the largest finite bfloat16
      0x7f7fffff, // float32's largest number: past the tie, infinity
      0x00000001, // the smallest float32 subnormal: zero
      0x00008000, // a tie with zero: even
      0x00018000, // a tie: even (up)
      0x80008001, // just above a tie, negative
      0x7f800000, // infinity
      0xff800000, // -infinity
      0x7fc00000, // NaN
      0xffc12345, // -NaN with a payload
      0x7f800001, // a NaN whose payload lies below bfloat16's mantissa
    );
    roundsTo("BF16", values, [
      0x3f80,
      0xc000,
      0x4049,
      0x3f80,
      0x3f82,
      0x3f81,
      0x7f7f,
      0x7f80,
      0x0000,
      0x0000,
      0x0002,
      0x8001,
      0x7f80,
      0xff80,
      0x7fc0,
      0xffc1,
      0x7fc0,
    ]);
  });
  await t.step("from float64", () => {
    const values = new Float64Array([1 + 2 ** -8 + 2 ** -30, 1e300, -1e-300, 2 ** -133, 1e-45]);
    // The first is above a tie (as float32 it would be the tie); 1e-45 is below half of 2^-133.
    roundsTo("BF16", values, [0x3f81, 0x7f80, 0x8000, 0x0001, 0x0000]);
  });
});

Deno.test("every F16 and BF16 number widens exactly and narrows back to itself", async (t) => {
  const all = new Uint16Array(65536).map((_, i) => i);
  await t.step("F16 widens as the platform's Float16Array reads it", () => {
    const wide = fromHalfBits(all, "F16");
    const platform = new Float16Array(all.buffer);
    for (let i = 0; i < all.length; i++) {
      if (Number.isNaN(platform[i])) assert.ok(Number.isNaN(wide[i]), hex([i])[0]);
      else assert.ok(Object.is(wide[i], platform[i]), `${hex([i])[0]}: ${wide[i]}`);
    }
  });
  await t.step("BF16 widens to the top half of a float32", () => {
    const words = new Uint32Array(fromHalfBits(all, "BF16").buffer);
    assert.deepEqual(words, new Uint32Array(all.length).map((_, i) => i << 16));
  });
  for (const format of ["F16", "BF16"] as const) {
    await t.step(`${format} round trips, NaN payloads included`, () => {
      assert.deepEqual(toHalfBits(fromHalfBits(all, format), format), all);
      const wide = Float64Array.from(fromHalfBits(all, format));
      const finite = all.filter((_, i) => !Number.isNaN(wide[i]));
      assert.deepEqual(toHalfBits(wide.filter((v) => !Number.isNaN(v)), format), finite);
    });
  }
});

Deno.test("rounding agrees with independent references on random inputs", async (t) => {
  let s = 12345;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  // Random bit patterns cover every exponent, subnormals and specials alike.
  const bits = new Uint32Array(200_000).map(next);
  const values = new Float32Array(bits.buffer);
  await t.step("F16 against Math.f16round", () => {
    const narrow = fromHalfBits(toHalfBits(values, "F16"), "F16");
    // Doubles from 2^-31 (below the subnormals) to 2^17 (past the largest finite number).
    const doubles = new Float64Array(bits.length).map(() =>
      (next() / 2 ** 32 - 0.5) * 2 ** ((next() % 49) - 30)
    );
    const narrowD = fromHalfBits(toHalfBits(doubles, "F16"), "F16");
    for (let i = 0; i < values.length; i++) {
      if (Number.isNaN(values[i])) continue;
      assert.ok(Object.is(narrow[i], Math.f16round(values[i])), `${values[i]}`);
      assert.ok(Object.is(narrowD[i], Math.f16round(doubles[i])), `${doubles[i]}`);
    }
  });
  await t.step("BF16 against integer rounding of float32 bits", () => {
    const narrow = toHalfBits(values, "BF16");
    for (let i = 0; i < bits.length; i++) {
      if (Number.isNaN(values[i])) continue;
      const b = bits[i];
      assert.equal(narrow[i], (b + 0x7fff + ((b >>> 16) & 1)) >>> 16, hex([b])[0]);
    }
  });
});
