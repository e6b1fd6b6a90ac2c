import assert from "node:assert/strict";
import * as nb from "../../mod.ts";

const { data } = nb;

// Month and weekday names from Intl, independent of the generator's own tables.
const monthNames = Array.from(
  { length: 12 },
  (_, m) =>
    new Date(Date.UTC(2000, m, 1)).toLocaleString("en-US", { month: "long", timeZone: "UTC" })
      .toLowerCase(),
);
const weekdayNames = Array.from(
  { length: 7 },
  (_, d) =>
    // 2000-01-02 was a Sunday.
    new Date(Date.UTC(2000, 0, 2 + d)).toLocaleString("en-US", {
      weekday: "long",
      timeZone: "UTC",
    }).toLowerCase(),
);

type Casing = "lower" | "Title" | "UPPER";

function casingOf(word: string): Casing {
  if (word === word.toLowerCase()) return "lower";
  if (word === word.toUpperCase()) return "UPPER";
  assert.equal(word, word[0].toUpperCase() + word.slice(1).toLowerCase(), `casing of ${word}`);
  return "Title";
}

interface Parsed {
  y: number;
  m: number; // 1..12
  d: number;
  format: string;
}

/** Reads a question back: its date and a name for its format. */
function parseDate(q: string): Parsed {
  const numeric = /^(\d{1,2})\/(\d{1,2})\/(\d{2})$/.exec(q);
  if (numeric) {
    const [, ms, ds, ys] = numeric;
    const zeros = ms.startsWith("0") || ds.startsWith("0");
    if (zeros) assert.ok(ms.length === 2 && ds.length === 2, `mixed zero padding in ${q}`);
    else assert.ok(!/^0/.test(ms) && !/^0/.test(ds));
    const yy = Number(ys);
    return {
      y: yy >= 70 ? 1900 + yy : 2000 + yy,
      m: Number(ms),
      d: Number(ds),
      format: zeros ? "MM/DD/YY" : "M/D/YY",
    };
  }
  const named = /^(?:([A-Za-z]+), )?([A-Za-z]+) ([1-9]\d?), (\d{4})$/.exec(q);
  assert.ok(named, `unrecognized question ${JSON.stringify(q)}`);
  const [, weekday, month, ds, ys] = named;
  const casing = casingOf(month);
  const lower = month.toLowerCase();
  let m = monthNames.indexOf(lower);
  let form = "full";
  if (m < 0) {
    m = monthNames.findIndex((name) => name.slice(0, 3) === lower);
    form = "abbr";
  }
  assert.ok(m >= 0, `unknown month ${month} in ${q}`);
  const y = Number(ys);
  const d = Number(ds);
  if (weekday !== undefined) {
    assert.equal(casingOf(weekday), casing, `weekday and month casing differ in ${q}`);
    const wd = new Date(Date.UTC(y, m, d)).getUTCDay();
    assert.equal(weekday.toLowerCase(), weekdayNames[wd], `wrong weekday in ${q}`);
  }
  // "May" is both forms; count it as full.
  if (lower === "may") form = "full";
  return { y, m: m + 1, d, format: `${form} ${casing}${weekday === undefined ? "" : " weekday"}` };
}

function iso(y: number, m: number, d: number): string {
  return `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

Deno.test("dates", async (t) => {
  const ds = data.dates();
  const all = {
    questions: [...ds.train.questions, ...ds.test.questions],
    answers: [...ds.train.answers, ...ds.test.answers],
  };

  await t.step("50,000 examples, split 45,000 / 5,000", () => {
    assert.equal(ds.train.questions.length, 45000);
    assert.equal(ds.train.answers.length, 45000);
    assert.equal(ds.test.questions.length, 5000);
    assert.equal(ds.test.answers.length, 5000);
  });

  await t.step("padding: questions 29 characters, answers _YYYY-MM-DD", () => {
    for (const q of all.questions) {
      assert.equal(q.length, 29);
      assert.ok(!q.startsWith(" ") && q.trimEnd().length > 0);
      assert.equal(q, q.trimEnd().padEnd(29, " "));
    }
    for (const a of all.answers) assert.match(a, /^_\d{4}-\d{2}-\d{2}$/);
  });

  const formats = new Map<string, number>();
  await t.step("every answer is a valid ISO date equal to the question's date", () => {
    all.questions.forEach((q, i) => {
      const p = parseDate(q.trimEnd());
      formats.set(p.format, (formats.get(p.format) ?? 0) + 1);
      const when = new Date(Date.UTC(p.y, p.m - 1, p.d));
      assert.equal(when.toISOString().slice(0, 10), iso(p.y, p.m, p.d), `invalid date in ${q}`);
      assert.equal(all.answers[i], "_" + iso(p.y, p.m, p.d), `answer to ${q}`);
    });
  });

  await t.step("every format and casing occurs", () => {
    const expected = ["M/D/YY", "MM/DD/YY"];
    for (const form of ["full", "abbr"]) {
      for (const casing of ["lower", "Title", "UPPER"]) {
        for (const wd of ["", " weekday"]) expected.push(`${form} ${casing}${wd}`);
      }
    }
    assert.deepEqual([...formats.keys()].sort(), expected.sort());
    for (const [format, count] of formats) assert.ok(count > 1000, `${format}: ${count}`);
  });

  await t.step("dates in 1970-01-01..2017-12-31, spread over the whole range", () => {
    const years = new Map<number, number>();
    for (const a of all.answers) {
      const s = a.slice(1);
      assert.ok(s >= "1970-01-01" && s <= "2017-12-31", s);
      const y = Number(s.slice(0, 4));
      years.set(y, (years.get(y) ?? 0) + 1);
    }
    assert.equal(years.size, 48);
    for (const [y, c] of years) assert.ok(Math.abs(c - 50000 / 48) < 200, `${y}: ${c}`);
    assert.ok(all.answers.includes("_1970-01-01") || all.answers.includes("_2017-12-31"));
  });

  await t.step("questions unique; no test question in train", () => {
    const train = new Set(ds.train.questions);
    assert.equal(train.size, ds.train.questions.length);
    assert.equal(new Set(ds.test.questions).size, ds.test.questions.length);
    for (const q of ds.test.questions) assert.ok(!train.has(q), q);
  });

  await t.step("the vocabulary encodes every question and answer", () => {
    const x = ds.vocab.encode(ds.test.questions);
    assert.deepEqual([x.shape, x.dtype], [[5000, 29], "int32"]);
    assert.deepEqual(ds.vocab.decode(x), ds.test.questions);
    assert.deepEqual(ds.vocab.encode(ds.train.answers).shape, [45000, 11]);
    assert.equal(ds.vocab.id(" "), 0);
    assert.deepEqual(data.dates({ n: 10, seed: 5 }).vocab.chars, ds.vocab.chars);
  });

  await t.step("deterministic for a seed, different across seeds", () => {
    const a = data.dates({ n: 2000, seed: 3 });
    const b = data.dates({ n: 2000, seed: 3 });
    const c = data.dates({ n: 2000, seed: 4 });
    assert.deepEqual(a.train, b.train);
    assert.deepEqual(a.test, b.test);
    assert.notDeepEqual(a.train.questions, c.train.questions);
    assert.deepEqual(data.dates({ n: 2000 }).train, {
      questions: ds.train.questions.slice(0, 1800),
      answers: ds.train.answers.slice(0, 1800),
    });
  });

  await t.step("small and invalid n", () => {
    const z = data.dates({ n: 0 });
    assert.deepEqual([z.train.questions, z.test.questions], [[], []]);
    const s = data.dates({ n: 9 });
    assert.deepEqual([s.train.questions.length, s.test.questions.length], [9, 0]);
    assert.throws(() => data.dates({ n: -1 }), RangeError);
    assert.throws(() => data.dates({ n: 1.5 }), RangeError);
    assert.throws(() => data.dates({ seed: 0.5 }), RangeError);
    // 17532 days × 14 forms, less May's 6 repeated named forms and the numeric forms of the
    // 65 days a year (10/10..12/31) where M/D/YY already has two digits.
    const possible = 17532 * 14 - 31 * 48 * 6 - 65 * 48;
    assert.equal(possible, 233400);
    assert.throws(
      () => data.dates({ n: possible + 1 }),
      (e: Error) => e instanceof RangeError && e.message.includes(`the ${possible} distinct`),
    );
  });
});

Deno.test("addition", async (t) => {
  const ds = data.addition();
  const all = {
    questions: [...ds.train.questions, ...ds.test.questions],
    answers: [...ds.train.answers, ...ds.test.answers],
  };

  await t.step("50,000 examples, split 45,000 / 5,000", () => {
    assert.deepEqual(
      [ds.train.questions.length, ds.train.answers.length],
      [45000, 45000],
    );
    assert.deepEqual([ds.test.questions.length, ds.test.answers.length], [5000, 5000]);
  });

  await t.step("answers are correct sums, padded as in the classic corpus", () => {
    const as = new Set<number>();
    all.questions.forEach((q, i) => {
      assert.equal(q.length, 7);
      const m = /^(0|[1-9]\d{0,2})\+(0|[1-9]\d{0,2}) *$/.exec(q);
      assert.ok(m, q);
      const a = Number(m[1]);
      const b = Number(m[2]);
      as.add(a);
      const ans = all.answers[i];
      assert.equal(ans.length, 5);
      assert.match(ans, /^_(0|[1-9]\d{0,3}) *$/);
      assert.equal(Number(ans.slice(1)), a + b, `${q} -> ${ans}`);
      assert.equal(ans, "_" + String(a + b).padEnd(4, " "));
    });
    assert.equal(as.size, 1000);
  });

  await t.step("questions unique; no test question in train", () => {
    const train = new Set(ds.train.questions);
    assert.equal(train.size, 45000);
    assert.equal(new Set(all.questions).size, 50000);
    for (const q of ds.test.questions) assert.ok(!train.has(q), q);
  });

  await t.step("vocabulary", () => {
    assert.equal(ds.vocab.chars.join(""), " +0123456789_");
    assert.deepEqual(ds.vocab.decode(ds.vocab.encode(ds.test.answers)), ds.test.answers);
    assert.deepEqual(ds.vocab.encode(ds.train.questions).shape, [45000, 7]);
  });

  await t.step("deterministic for a seed, different across seeds", () => {
    assert.deepEqual(data.addition({ n: 1000, seed: 7 }), data.addition({ n: 1000, seed: 7 }));
    assert.notDeepEqual(
      data.addition({ n: 1000, seed: 7 }).train.questions,
      data.addition({ n: 1000, seed: 8 }).train.questions,
    );
  });

  await t.step("all 10^6 problems at most", () => {
    const full = data.addition({ n: 1_000_000 });
    assert.equal(new Set([...full.train.questions, ...full.test.questions]).size, 1_000_000);
    assert.throws(() => data.addition({ n: 1_000_001 }), RangeError);
    assert.throws(() => data.addition({ n: -3 }), RangeError);
  });
});
