// Stands in for @lumino/widgets in the bundle: the names ipywidgets 8 base and controls (and
// embed.js) import from it, compiled from the package's own TypeScript sources. Its published
// single-file build (145 KB) cannot be tree-shaken: TypeScript namespaces make every part of
// it look used, docking panels, menus and command palettes included. A name missing here
// fails the bundle build (esbuild: no matching export), never a page.
export { Panel } from "./node_modules/@lumino/widgets/src/panel";
export { PanelLayout } from "./node_modules/@lumino/widgets/src/panellayout";
export { TabBar } from "./node_modules/@lumino/widgets/src/tabbar";
export { Title } from "./node_modules/@lumino/widgets/src/title";
export { Widget } from "./node_modules/@lumino/widgets/src/widget";
