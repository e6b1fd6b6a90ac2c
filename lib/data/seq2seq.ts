/**
 * Seq2seq toy tasks generated in-process: human-written dates to ISO dates, and addition.
 *
 * @module
 */

import { checkInteger, checkOptions } from "./_checks.ts";
import { key, split } from "../random/mod.ts";
import { Vocab } from "./vocab.ts";

/** Questions and their answers (each answer starts with the decoder's start marker `_`). */
export interface Seq2SeqSplit {
  /** Inputs, all padded with spaces to one length. */
  questions: string[];
  /** Targets, `_` followed by the answer, all of one length. */
  answers: string[];
}

/** A seq2seq task: a training split, a test split with no question of the training split. */
export interface Seq2SeqDataset {
  /** 90% of the examples. */
  train: Seq2SeqSplit;
  /** 10% of the examples (rounded down); none of its questions occurs in `train`. */
  test: Seq2SeqSplit;
  /** The characters of every question and answer the task can produce. */
  vocab: Vocab;
}

/** Options of `dates` and `addition`. */
export interface Seq2SeqOptions {
  /** The number of examples, train and test together (default 50000). */
  n?: number;
  /** The seed of the generator (default 0). */
  seed?: number;
}

// xoshiro128** seeded from a JAX-style key, so a seed gives the same data everywhere.
function rng(seed: number): (m: number) => number {
  const [[a, b], [c, d]] = split(key(seed));
  const s = new Uint32Array([a, b, c, d]);
  if ((a | b | c | d) === 0) s[0] = 1;
  const next = (): number => {
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  };
  // Uniform in 0..m-1, without bias (rejection of the top partial block).
  return (m: number): number => {
    const limit = 2 ** 32 - (2 ** 32 % m);
    for (;;) {
      const r = next();
      if (r < limit) return r % m;
    }
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function checkSizes(op: string, opts: Seq2SeqOptions): { n: number; seed: number } {
  const { n = 50000, seed = 0 } = checkOptions(op, opts);
  return { n: checkInteger(op, "n", n, 0), seed: checkInteger(op, "seed", seed) };
}

function splitPairs(questions: string[], answers: string[], vocab: Vocab): Seq2SeqDataset {
  const nTrain = questions.length - Math.floor(questions.length / 10);
  return {
    train: { questions: questions.slice(0, nTrain), answers: answers.slice(0, nTrain) },
    test: { questions: questions.slice(nTrain), answers: answers.slice(nTrain) },
    vocab,
  };
}

const MONTHS = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];
const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
const FIRST_DAY = Date.UTC(1970, 0, 1) / 86400000;
const LAST_DAY = Date.UTC(2017, 11, 31) / 86400000;
const DAYS = LAST_DAY - FIRST_DAY + 1;
/** The length every dates question is padded to. */
const DATE_WIDTH = 29;
// 2 month forms × 3 casings × with or without weekday, and 2 numeric forms.
const NAMED_FORMATS = 12;
const FORMATS = NAMED_FORMATS + 2;

function casings(word: string): [string, string, string] {
  return [word, word[0].toUpperCase() + word.slice(1), word.toUpperCase()];
}
// [casing][index]
const MONTH_FULL = [0, 1, 2].map((c) => MONTHS.map((m) => casings(m)[c]));
const MONTH_ABBR = [0, 1, 2].map((c) => MONTHS.map((m) => casings(m.slice(0, 3))[c]));
const WEEKDAY = [0, 1, 2].map((c) => WEEKDAYS.map((w) => casings(w)[c]));

function two(x: number): string {
  return x < 10 ? "0" + x : String(x);
}

/**
 * The `f`-th written form of a date (`f` in `0..13`): for `f < 12`, month form `f % 2` (full,
 * three letters), casing `(f >> 1) % 3` (lower, Title, UPPER), with a weekday when `f >= 6`;
 * `f = 12` is `M/D/YY`, `f = 13` is `MM/DD/YY`.
 */
function writeDate(y: number, m: number, d: number, wd: number, f: number): string {
  if (f === 12) return `${m + 1}/${d}/${two(y % 100)}`;
  if (f === 13) return `${two(m + 1)}/${two(d)}/${two(y % 100)}`;
  const casing = (f >> 1) % 3;
  const month = (f & 1 ? MONTH_ABBR : MONTH_FULL)[casing][m];
  const text = `${month} ${d}, ${y}`;
  return f >= 6 ? `${WEEKDAY[casing][wd]}, ${text}` : text;
}

let datesVocab: Vocab | undefined;

function dateVocab(): Vocab {
  datesVocab ??= new Vocab([
    ...MONTH_FULL.flat(),
    ...MONTH_ABBR.flat(),
    ...WEEKDAY.flat(),
    "0123456789,/-_ ",
  ]);
  return datesVocab;
}

interface DayTable {
  year: Int16Array;
  month: Int8Array;
  date: Int8Array;
  weekday: Int8Array;
  /** The number of distinct questions over all days and forms. */
  distinct: number;
}

let dayTable: DayTable | undefined;

// Every day of the range once: its calendar fields, and how many distinct questions it has
// (12 named forms, 6 in May, whose full and short names agree; 1 numeric form when month and
// day both have two digits, since `M/D/YY` is then `MM/DD/YY`, else 2).
function days(): DayTable {
  if (dayTable) return dayTable;
  const year = new Int16Array(DAYS);
  const month = new Int8Array(DAYS);
  const date = new Int8Array(DAYS);
  const weekday = new Int8Array(DAYS);
  let distinct = 0;
  for (let i = 0; i < DAYS; i++) {
    const t = new Date((FIRST_DAY + i) * 86400000);
    year[i] = t.getUTCFullYear();
    month[i] = t.getUTCMonth();
    date[i] = t.getUTCDate();
    weekday[i] = t.getUTCDay();
    distinct += (month[i] === 4 ? NAMED_FORMATS / 2 : NAMED_FORMATS) +
      (month[i] >= 9 && date[i] >= 10 ? 1 : 2);
  }
  dayTable = { year, month, date, weekday, distinct };
  return dayTable;
}

/**
 * The date-conversion task: human-written dates from 1970-01-01 to 2017-12-31 (uniform), such
 * as `september 27, 1994`, `JUN 17, 2013`, `Wednesday, February 26, 1997` or `2/10/93`,
 * right-padded with spaces to 29 characters, and their ISO form after `_`
 * (`_1994-09-27`, 11 characters). Each question is one of 14 equally likely forms: a full or
 * three-letter month name, in lower, Title or UPPER case, with or without the correct weekday
 * (full name, same case) before it, day without a leading zero and a four-digit year; or
 * `M/D/YY`, or `MM/DD/YY` with leading zeros. Questions are unique; the last 10% are the test
 * split.
 *
 * @example
 * ```ts
 * import { data } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const { train, test, vocab } = data.dates({ n: 1000 });
 * assert.deepEqual([train.questions.length, test.questions.length], [900, 100]);
 * assert.equal(train.questions[0].length, 29);
 * assert.match(train.answers[0], /^_\d{4}-\d{2}-\d{2}$/);
 * assert.deepEqual(vocab.encode(test.questions).shape, [100, 29]);
 * ```
 */
export function dates(opts: Seq2SeqOptions = {}): Seq2SeqDataset {
  const { n, seed } = checkSizes("dates", opts);
  const table = days();
  const possible = table.distinct;
  if (n > possible) {
    throw new RangeError(`data.dates: n = ${n} exceeds the ${possible} distinct questions`);
  }
  const rand = rng(seed);
  const seen = new Set<string>();
  const questions: string[] = [];
  const answers: string[] = [];
  while (questions.length < n) {
    const day = rand(DAYS);
    const f = rand(FORMATS);
    const y = table.year[day];
    const m = table.month[day];
    const d = table.date[day];
    const q = writeDate(y, m, d, table.weekday[day], f);
    if (seen.has(q)) continue;
    seen.add(q);
    if (q.length > DATE_WIDTH) {
      throw new Error(`data.dates: internal error, ${JSON.stringify(q)} is too long`);
    }
    questions.push(q.padEnd(DATE_WIDTH, " "));
    answers.push(`_${y}-${two(m + 1)}-${two(d)}`);
  }
  return splitPairs(questions, answers, dateVocab());
}

/**
 * The addition task of the classic seq2seq corpus: `a+b` with `a, b` in `0..999` drawn
 * uniformly without repeats, right-padded to 7 characters (`"16+75  "`), and `_` followed by
 * the sum left-aligned in 4 characters (`"_91  "`). The last 10% are the test split. There are
 * 10^6 distinct problems; a larger `n` is a RangeError.
 *
 * @example
 * ```ts
 * import { data } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const { train, vocab } = data.addition({ n: 100 });
 * const [a, b] = train.questions[0].trim().split("+").map(Number);
 * assert.equal(Number(train.answers[0].slice(1)), a + b);
 * assert.deepEqual(vocab.chars.join(""), " +0123456789_");
 * ```
 */
export function addition(opts: Seq2SeqOptions = {}): Seq2SeqDataset {
  const { n, seed } = checkSizes("addition", opts);
  const possible = 1000 * 1000;
  if (n > possible) {
    throw new RangeError(`data.addition: n = ${n} exceeds the ${possible} distinct problems`);
  }
  const rand = rng(seed);
  // The first n entries of a Fisher–Yates shuffle: n distinct pairs, uniformly.
  const pool = new Int32Array(possible);
  for (let i = 0; i < possible; i++) pool[i] = i;
  const questions: string[] = new Array(n);
  const answers: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const j = i + rand(possible - i);
    const p = pool[j];
    pool[j] = pool[i];
    pool[i] = p;
    const a = Math.floor(p / 1000);
    const b = p % 1000;
    questions[i] = `${a}+${b}`.padEnd(7, " ");
    answers[i] = `_${String(a + b).padEnd(4, " ")}`;
  }
  return splitPairs(questions, answers, new Vocab(["0123456789+"]));
}
