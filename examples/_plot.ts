/// <reference lib="dom" />
/**
 * Pictures for the examples: Observable Plot charts rendered without a browser (linkedom lends
 * the document), set side by side under a title in one SVG file, or a PNG when the path ends in
 * `.png`.
 *
 * @module
 */

import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";

export { Plot };

const { document } = parseHTML("<!doctype html><html><body></body></html>");
// linkedom's document is not the DOM's Document type, but it has all Plot uses.
const context = { document: document as unknown as Document };

/** One rendered chart: its SVG markup (legends above the chart) and its size in pixels. */
export interface Panel {
  width: number;
  height: number;
  markup: string;
}

/**
 * Renders one chart. A continuous or quantized colour legend (`color: { legend: true }`) is
 * kept above the chart (or see {@linkcode colorLegend}); Plot draws ordinal legends, titles and
 * captions as HTML, which an SVG file cannot hold, so label lines directly and put titles in
 * {@linkcode figure}.
 *
 * @example
 * ```ts
 * import { chart, Plot } from "./_plot.ts";
 * import assert from "node:assert/strict";
 * const panel = chart({ width: 300, height: 200, marks: [Plot.lineY([3, 1, 2])] });
 * assert.deepEqual([panel.width, panel.height], [300, 200]);
 * assert.match(panel.markup, /^<svg/);
 * ```
 */
export function chart(options: Plot.PlotOptions): Panel {
  const root = Plot.plot({ ...options, ...context });
  const svgs = root.tagName.toLowerCase() === "svg" ? [root] : [...root.querySelectorAll("svg")];
  let width = 0;
  let height = 0;
  const parts = svgs.map((svg) => {
    svg.setAttribute("y", String(height));
    width = Math.max(width, Number(svg.getAttribute("width")));
    height += Number(svg.getAttribute("height"));
    return svg.outerHTML;
  });
  return { width, height, markup: parts.join("") };
}

/**
 * A colour legend on its own, `width` pixels wide (default 240): a ramp of the scale's colours
 * with ticks under it.
 *
 * @example
 * ```ts
 * import { colorLegend } from "./_plot.ts";
 * import assert from "node:assert/strict";
 * const legend = colorLegend({ type: "quantize", domain: [0, 1], scheme: "blues", label: "w" });
 * assert.equal(legend.markup.match(/<rect fill=/g)?.length, 5); // five colours from 0 to 1
 * ```
 */
export function colorLegend(color: Plot.ScaleOptions, { width = 240 } = {}): Panel {
  // Plot's types leave out the `document` that legends take as plots do.
  const svg = Plot.legend({ color, legend: "ramp", width, ...context } as Plot.LegendScales);
  return {
    width: Number(svg.getAttribute("width")),
    height: Number(svg.getAttribute("height")),
    markup: svg.outerHTML,
  };
}

/** Options of {@linkcode figure}. */
export interface FigureOptions {
  /** A line above the panels. */
  title: string;
  /** A smaller line under the title. */
  subtitle?: string;
  /** Space between panels, in pixels (default 24). */
  gap?: number;
}

/**
 * A standalone SVG document: the title, then rows of panels, each row from left to right.
 *
 * @example
 * ```ts
 * import { chart, figure, Plot } from "./_plot.ts";
 * import assert from "node:assert/strict";
 * const panel = chart({ width: 300, height: 200, marks: [Plot.lineY([3, 1, 2])] });
 * const svg = figure([[panel, panel]], { title: "Two <curves>" });
 * assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" .* width="656" height="254"/);
 * assert.match(svg, /Two &lt;curves&gt;/);
 * ```
 */
export function figure(rows: Panel[][], { title, subtitle, gap = 24 }: FigureOptions): string {
  const margin = 16;
  let y = margin + 22 + (subtitle ? 18 : 0);
  let width = 0;
  const placed: string[] = [];
  for (const row of rows) {
    let x = margin;
    for (const panel of row) {
      placed.push(`<g transform="translate(${x},${y})">${panel.markup}</g>`);
      x += panel.width + gap;
    }
    width = Math.max(width, x - gap + margin);
    y += Math.max(...row.map((p) => p.height)) + gap;
  }
  const height = y - gap + margin;
  const text = (y: number, size: number, weight: string, s: string) =>
    `<text x="${margin}" y="${y}" font-size="${size}" font-weight="${weight}">${escape(s)}</text>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" ` +
    `width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="system-ui, sans-serif" fill="black">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    text(margin + 14, 16, "bold", title),
    subtitle ? text(margin + 32, 12, "normal", subtitle) : "",
    ...placed,
    "</svg>",
  ].join("");
}

/**
 * Checks, before a long run, that a picture can be written to `path`: asks for the write
 * permission (a prompt only in a terminal) and, for a PNG, loads the font and the renderer.
 *
 * @example
 * ```ts
 * import { preparePicture } from "./_plot.ts";
 * await preparePicture(await Deno.makeTempFile({ suffix: ".svg" }));
 * ```
 */
export async function preparePicture(path: string): Promise<void> {
  const { state } = await Deno.permissions.request({ name: "write", path });
  if (state !== "granted") throw new Error("writing the picture needs --allow-write");
  if (isPng(path)) await (await import("./_png.ts")).preparePng();
}

/**
 * Writes an SVG document to `path`, converted to PNG when the path ends in `.png`.
 *
 * @example
 * ```ts
 * import { chart, figure, Plot, writePicture } from "./_plot.ts";
 * import assert from "node:assert/strict";
 * const svg = figure([[chart({ marks: [Plot.lineY([3, 1, 2])] })]], { title: "A curve" });
 * const path = await Deno.makeTempFile({ suffix: ".svg" });
 * await writePicture(path, svg);
 * assert.equal(await Deno.readTextFile(path), svg);
 * ```
 */
export async function writePicture(path: string, svg: string): Promise<void> {
  if (isPng(path)) {
    const { svgToPng } = await import("./_png.ts");
    await Deno.writeFile(path, await svgToPng(svg));
  } else {
    await Deno.writeTextFile(path, svg);
  }
}

function isPng(path: string): boolean {
  return path.toLowerCase().endsWith(".png");
}

function escape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
