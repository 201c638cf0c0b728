// Stands in for sanitize-html (about 250 KB with its HTML and CSS parsers) in the bundle.
// ManagerBase needs it only to sanitize descriptions that may hold HTML
// (description_allow_html); the build (_ext/sphinx_offline.py) sends every page whose widgets
// allow that to @jupyter-widgets/html-manager instead, so this never runs on a page.
export default function sanitize() {
  throw new Error("widget descriptions with HTML need the full widget manager (html-manager)");
}
