/** What the passes share: replacing variables by others throughout a program. */

import type { Program, ProgramEquation, Var } from "../../core/program.ts";

/**
 * The program with every use of a key of `replace` changed to its value (followed to the end
 * of chains), and the equations kept by `keep` only.
 */
export function substitute(
  program: Program,
  replace: ReadonlyMap<Var, Var>,
  keep: (eq: ProgramEquation) => boolean = () => true,
): Program {
  if (replace.size === 0) return program;
  const resolve = (v: Var): Var => {
    let r = v;
    for (let next = replace.get(r); next !== undefined; next = replace.get(r)) r = next;
    return r;
  };
  const equations = program.equations.filter(keep).map((eq) => ({
    ...eq,
    inputs: eq.inputs.map(resolve),
  }));
  return program.with({ equations, outputs: program.outputs.map(resolve) });
}

/**
 * Applies `step` until it finds nothing more to rewrite (returns `null`), at most `rounds`
 * times: for rewrites that each enable the next.
 */
export function repeatRewrite(
  program: Program,
  step: (program: Program) => Program | null,
  rounds: number,
): Program {
  for (let round = 0; round < rounds; round++) {
    const next = step(program);
    if (next === null) return program;
    program = next;
  }
  return program;
}

/** The equations that read each value of `program`, in program order, each listed once. */
export function readersOf(program: Program): Map<Var, ProgramEquation[]> {
  const readers = new Map<Var, ProgramEquation[]>();
  for (const eq of program.equations) {
    for (const v of eq.inputs) {
      const list = readers.get(v);
      if (list === undefined) readers.set(v, [eq]);
      else if (!list.includes(eq)) list.push(eq);
    }
  }
  return readers;
}
