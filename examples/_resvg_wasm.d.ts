/** resvg's compiled WebAssembly module, for `initWasm`. */
declare const resvg: WebAssembly.Module;
export default resvg;
