#!/usr/bin/env bash
# Re-create _vendor/site/vendor/ from the npm registry at the pinned versions below.
# The result is committed, so `make book` and the tests never need the network; run this only
# to change a version (then rebuild the book and run tests/book/test_browser.py).
set -euo pipefail
REQUIREJS=2.3.8       # require.js: the AMD loader the widget manager needs
HTML_MANAGER=1.0.15   # @jupyter-widgets/html-manager 1.0.x = ipywidgets 8 widget protocol
MATHJAX=3.2.2         # mathjax@3, CommonHTML output

here=$(cd "$(dirname "$0")" && pwd)
out="$here/site/vendor"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The book's own widget manager (widgets/embed.js) is bundled with esbuild from the exact
# packages of widgets/package-lock.json (npm ci checks their integrity hashes).
cp "$here/widgets/package.json" "$here/widgets/package-lock.json" "$here/widgets/"*.js \
  "$here/widgets/"*.mjs "$here/widgets/"*.ts "$tmp/"
cd "$tmp"
npm ci --silent --ignore-scripts --no-audit --no-fund
npm pack --silent "requirejs@$REQUIREJS" "@jupyter-widgets/html-manager@$HTML_MANAGER" \
  "mathjax@$MATHJAX" >/dev/null
for tgz in *.tgz; do mkdir "${tgz%.tgz}" && tar xzf "$tgz" -C "${tgz%.tgz}"; done

rm -rf "$out/requirejs" "$out/widgets" "$out/html-manager" "$out/mathjax"
mkdir -p "$out/requirejs" "$out/widgets" "$out/html-manager" "$out/mathjax"

# widgets/: the manager most pages load (embed.js, embed.css, the bundled packages' licences);
# requirejs/require.js minified, its MIT licence header kept in the file.
node build.mjs "requirejs-$REQUIREJS/package/require.js" "$out"

# html-manager: for pages whose widgets need more than widgets/ has (_ext/widget_pages.py
# decides). embed-amd.js defines @jupyter-widgets/base and /controls for require.js; its Font Awesome
# files are fetched relative to the script. Only woff2/woff: every browser that runs the widget
# code reads them; the .eot/.ttf/.svg copies (2.5 MB) are for browsers that cannot.
hm="jupyter-widgets-html-manager-$HTML_MANAGER/package/dist"
cp "$hm/embed-amd.js" "$hm/embed.js.LICENSE.txt" "$out/html-manager/"
cp "$hm"/*.woff2 "$hm"/*.woff "$out/html-manager/"

# MathJax, as components its loader fetches (_config.yml lists them in mathjax3_config):
# startup.js (the loader), core, TeX input, CommonHTML output and its TeX fonts, and
# everything they may load on demand (TeX extensions, fonts, accessibility). Not the combined
# tex-mml-chtml.js: a third of its 1.2 MB is the context menu, which the book leaves out.
# Speech rule maps (sre/, 4 MB) are left out: they load only for the menu's speech options.
mj="mathjax-$MATHJAX/package"
cp "$mj/LICENSE" "$mj/es5/startup.js" "$mj/es5/core.js" "$out/mathjax/"
for dir in input/tex input/mml output/chtml a11y ui adaptors; do
  mkdir -p "$out/mathjax/$dir" && cp -r "$mj/es5/$dir/." "$out/mathjax/$dir/"
done
cp "$mj/es5/input/tex.js" "$mj/es5/input/mml.js" "$out/mathjax/input/"
cp "$mj/es5/output/chtml.js" "$out/mathjax/output/"

cat > "$out/VERSIONS" <<VERSIONS
requirejs $REQUIREJS MIT (minified; licence header kept)
widgets: @jupyter-widgets/base, base-manager, controls at the versions in _vendor/widgets/package-lock.json (widgets/THIRD_PARTY_LICENSES.txt)
@jupyter-widgets/html-manager $HTML_MANAGER BSD-3-Clause (bundled code: embed.js.LICENSE.txt)
mathjax $MATHJAX Apache-2.0 (mathjax/LICENSE)
VERSIONS
echo "vendored into $out:"; du -sh "$out"/*
