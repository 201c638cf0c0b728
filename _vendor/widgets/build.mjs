// Bundles the book's widget manager (embed.js) and minifies require.js, for ../update.sh.
// Usage: node build.mjs <require.js> <out dir>   (run where `npm ci` installed package.json)
// Writes <out dir>/widgets/{embed.js, embed.css, THIRD_PARTY_LICENSES.txt} and
// <out dir>/requirejs/require.js (its MIT licence header kept).
import * as esbuild from "esbuild";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const [requirejs, out] = process.argv.slice(2);
const here = dirname(fileURLToPath(import.meta.url));

const result = await esbuild.build({
  entryPoints: [join(here, "embed.js")],
  outdir: join(out, "widgets"),
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "none", // every bundled package's licence goes in THIRD_PARTY_LICENSES.txt
  alias: {
    "sanitize-html": join(here, "no-html-descriptions.js"),
    "@lumino/widgets": join(here, "lumino-widgets.ts"),
  },
  // As @lumino/widgets' published build was compiled: class fields assigned in constructors.
  tsconfigRaw: { compilerOptions: { useDefineForClassFields: false } },
  // The page has require.js: UMD modules (backbone, jquery) would see its global define and
  // register themselves with it instead of with the bundle. Hidden from them; embed.js
  // reaches it as window.define.
  define: { define: "undefined" },
  banner: {
    js: "/*! The book's widget manager (_vendor/widgets/embed.js) with ipywidgets 8 base and "
      + "controls; licences of the bundled packages: THIRD_PARTY_LICENSES.txt */",
    css: "/*! ipywidgets 8 controls CSS (BSD-3-Clause), lumino, nouislider (MIT); see "
      + "THIRD_PARTY_LICENSES.txt */",
  },
  metafile: true,
  logLevel: "warning",
});

// The npm packages that ended up in the bundle, each with its licence text.
const packages = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (match) packages.add(match[1]);
}
const licences = [...packages].sort().map((name) => {
  const dir = join(here, "node_modules", name);
  const { version, license } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
  const text = file ? readFileSync(join(dir, file), "utf8").trim() : `(no licence file; package.json says ${license})`;
  return `${name} ${version} (${license})\n${"-".repeat(72)}\n${text}\n`;
});
writeFileSync(join(out, "widgets", "THIRD_PARTY_LICENSES.txt"),
  `Packages bundled into embed.js and embed.css, with their licences.\n\n${licences.join("\n")}`);

// require.js is a classic script whose top-level names (require, requirejs, define) are the
// API: minified without bundling, they stay as they are.
await esbuild.build({
  entryPoints: [requirejs],
  outfile: join(out, "requirejs", "require.js"),
  minify: true,
  legalComments: "inline",
  logLevel: "warning",
});
