/** The primitives that compute each element from the same element of their operands. */
export const ELEMENTWISE: ReadonlySet<string> = new Set([
  ..."neg exp log sqrt sin cos tanh sigmoid abs sign log1p expm1".split(" "),
  ..."add sub mul div pow max min eq ne lt le gt ge select convert".split(" "),
]);
