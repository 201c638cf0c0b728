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

cd "$tmp"
npm pack --silent "requirejs@$REQUIREJS" "@jupyter-widgets/html-manager@$HTML_MANAGER" \
  "mathjax@$MATHJAX" >/dev/null
for tgz in *.tgz; do mkdir "${tgz%.tgz}" && tar xzf "$tgz" -C "${tgz%.tgz}"; done

rm -rf "$out/requirejs" "$out/html-manager" "$out/mathjax"
mkdir -p "$out/requirejs" "$out/html-manager" "$out/mathjax"

# require.js carries its MIT licence header in the file itself.
cp "requirejs-$REQUIREJS/package/require.js" "$out/requirejs/"

# embed-amd.js defines @jupyter-widgets/base and /controls for require.js; its Font Awesome
# files are fetched relative to the script. Only woff2/woff: every browser that runs the widget
# code reads them; the .eot/.ttf/.svg copies (2.5 MB) are for browsers that cannot.
hm="jupyter-widgets-html-manager-$HTML_MANAGER/package/dist"
cp "$hm/embed-amd.js" "$hm/embed.js.LICENSE.txt" "$out/html-manager/"
cp "$hm"/*.woff2 "$hm"/*.woff "$out/html-manager/"

# MathJax: the combined TeX+MathML CommonHTML file (what Jupyter Book loads by default) plus
# everything it may load on demand (TeX extensions, fonts, menu, accessibility). Speech rule
# maps (sre/, 4 MB) are left out: they load only when a reader turns speech on in the menu.
mj="mathjax-$MATHJAX/package"
cp "$mj/LICENSE" "$mj/es5/tex-mml-chtml.js" "$out/mathjax/"
for dir in input/tex input/mml output/chtml a11y ui adaptors; do
  mkdir -p "$out/mathjax/$dir" && cp -r "$mj/es5/$dir/." "$out/mathjax/$dir/"
done

cat > "$out/VERSIONS" <<VERSIONS
requirejs $REQUIREJS MIT
@jupyter-widgets/html-manager $HTML_MANAGER BSD-3-Clause (bundled code: embed.js.LICENSE.txt)
mathjax $MATHJAX Apache-2.0 (mathjax/LICENSE)
VERSIONS
echo "vendored into $out:"; du -sh "$out"/*
