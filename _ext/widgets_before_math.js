// Inlined by _ext/widget_pages.py into pages that the book's widget manager renders, after
// the page's MathJax configuration and before MathJax starts (a deferred script).
// Typesetting a long page's math is the longest task while the page loads, and anywidget
// gives each explorer's model 2 s to start: MathJax waits until the widgets are rendered (the
// manager calls tconvWidgetsShown), 5 s at most, so a widget manager that never runs cannot
// leave the math as TeX.
if (window.MathJax) {
  window.tconvWidgetsRendered = new Promise(function (resolve) {
    window.tconvWidgetsShown = resolve;
    setTimeout(resolve, 5000);
  });
  window.MathJax.startup = Object.assign({}, window.MathJax.startup, {
    pageReady: function () {
      return window.tconvWidgetsRendered.then(function () {
        return window.MathJax.startup.defaultPageReady();
      });
    },
  });
}
