/**
 * SVG to PNG with resvg (WebAssembly). resvg-wasm sees no system fonts, so the labels need a
 * TrueType font file read from the usual places (this is why a PNG needs `--allow-read`).
 *
 * @module
 */

import { initWasm, Resvg } from "@resvg/resvg-wasm";
import resvg from "./_resvg_wasm.js";

/** Font files tried in order, with their family names: Linux distributions, macOS, Windows. */
const FONTS: [string, string][] = [
  ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVu Sans"],
  ["/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf", "DejaVu Sans"],
  ["/usr/share/fonts/dejavu/DejaVuSans.ttf", "DejaVu Sans"],
  ["/usr/share/fonts/TTF/DejaVuSans.ttf", "DejaVu Sans"],
  ["/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf", "Liberation Sans"],
  ["/System/Library/Fonts/Supplemental/Arial.ttf", "Arial"],
  ["/Library/Fonts/Arial.ttf", "Arial"],
  ["C:\\Windows\\Fonts\\arial.ttf", "Arial"],
];

async function findFont(): Promise<{ bytes: Uint8Array; family: string }> {
  for (const [path, family] of FONTS) {
    try {
      return { bytes: await Deno.readFile(path), family };
    } catch (e) {
      if (e instanceof Deno.errors.NotCapable) {
        throw new Error(`a PNG's labels need a font file: run with --allow-read (${e.message})`);
      }
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  throw new Error(
    `a PNG needs a TrueType font for its labels and none was found (looked for ${
      FONTS.map(([path]) => path).join(", ")
    }); write an .svg instead`,
  );
}

let font: Promise<{ bytes: Uint8Array; family: string }> | undefined;
let ready: Promise<void> | undefined;

/**
 * Loads the font and resvg, so that what is missing shows before a long run, not after.
 *
 * @example
 * ```ts
 * import { preparePng } from "./_png.ts";
 * await preparePng(); // throws an Error that says why when there is no font or no permission
 * ```
 */
export async function preparePng(): Promise<void> {
  await (font ??= findFont());
  await (ready ??= initWasm(resvg));
}

/**
 * Renders an SVG document to PNG bytes at `scale` times its size.
 *
 * @example
 * ```ts
 * import { svgToPng } from "./_png.ts";
 * import assert from "node:assert/strict";
 * const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><text y="15">∇</text></svg>`;
 * const png = await svgToPng(svg);
 * assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
 * ```
 */
export async function svgToPng(svg: string, scale = 2): Promise<Uint8Array> {
  await preparePng();
  const { bytes, family } = await font!;
  const image = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    background: "white",
    font: { fontBuffers: [bytes], defaultFontFamily: family, sansSerifFamily: family },
  }).render();
  return image.asPng();
}
