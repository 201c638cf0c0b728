// Loaded between require.js and the widget manager on every page with widgets (the book's
// vendor/widgets/embed.js, or html-manager's embed-amd.js where a page needs it; see
// _ext/widget_pages.py). It makes the widget manager find everything on this site, whatever
// the page's depth:
// - `anywidget` (the front-end of our slider views) resolves to the copy the build made from
//   the installed Python package, so the JS and Python versions always match;
// - the widget manager's Font Awesome files are looked up next to the module that asks for them;
//   by default that is <page dir>/@jupyter-widgets/html-manager/dist/, which does not exist;
// - data-jupyter-widgets-cdn, the prefix the manager falls back to for any module it cannot
//   load, points at this site too, so no CDN is ever tried;
// - html-manager typesets widget labels with the MathJax 2 call MathJax.Hub.Queue, which
//   throws under MathJax 3 (what the book loads); a small MathJax.Hub maps it onto MathJax 3,
//   so labels like "$k$" render as math (the book's manager gives the controls a typesetter).
(function () {
  var here = document.currentScript.src.replace(/[^/]*$/, "");
  window.requirejs.config({
    paths: {
      anywidget: here + "anywidget/index",
      "@jupyter-widgets/html-manager/dist": here + "html-manager",
      // html-manager's main module is defined inside embed-amd.js; this path only places it,
      // so that the fonts its CSS asks for (Output widgets) resolve next to the others too.
      "@jupyter-widgets/html-manager": here + "html-manager/embed-amd",
    },
  });
  document.currentScript.setAttribute("data-jupyter-widgets-cdn", here + "npm/");

  // MathJax 3 (a deferred script) replaces window.MathJax when it loads, which is before
  // DOMContentLoaded; widgets render on "load", after this has run.
  document.addEventListener("DOMContentLoaded", function () {
    var mathjax = window.MathJax;
    if (!mathjax || mathjax.Hub || !mathjax.startup) return;
    mathjax.Hub = {
      Queue: function (command) {
        var element = command[2];
        mathjax.startup.promise.then(function () { return mathjax.typesetPromise([element]); });
      },
    };
  });
})();
