// Inlined by _ext/widget_pages.py into pages that the book's widget manager renders, after
// the page's MathJax configuration. On these pages the MathJax loader's script tag has a type
// that does not run (MATHJAX_HELD_TYPE in widget_pages.py), and this starts it once the
// widgets are rendered (the manager calls tconvWidgetsShown), 5 s at most, so a widget manager
// that never runs cannot leave the math as TeX. Why wait: evaluating MathJax's components costs
// the main thread about as much as the widget manager, typesetting a long page is the longest
// task while it loads, and anywidget gives each explorer's model 2 s to start.
// Until MathJax has loaded, MathJax.startup.promise (what code that waits for the typesetting
// awaits) is a stand-in that settles once the page has been typeset.
if (window.MathJax) {
  (function () {
    var WAIT_MS = 5000;
    var typeset;
    var typesetDone = new Promise(function (resolve) { typeset = resolve; });
    window.MathJax.startup = Object.assign({}, window.MathJax.startup, {
      promise: typesetDone,
      pageReady: function () {
        return window.MathJax.startup.defaultPageReady().finally(typeset);
      },
    });
    var loaded = false;
    window.tconvWidgetsShown = function () {
      var held = document.querySelector('script[type="text/x-tconv-mathjax"]');
      if (loaded || !held) return;
      loaded = true;
      var script = document.createElement("script");
      script.src = held.src;
      document.head.appendChild(script);
    };
    setTimeout(window.tconvWidgetsShown, WAIT_MS);
  })();
}
