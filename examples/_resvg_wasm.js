// @ts-self-types="./_resvg_wasm.d.ts"
// resvg's compiled WebAssembly, imported as a module source: Deno loads it from the npm package
// with no file permission. (TypeScript cannot parse `import source` yet, hence a .js file.)
import source resvg from "@resvg/resvg-wasm/index_bg.wasm";
export default resvg;
