// The book's widget manager: renders the ipywidgets of a static page from the state the build
// embedded in it, with no kernel. Bundled by ../update.sh (esbuild, pinned npm packages) into
// ../site/vendor/widgets/embed.js, with the controls' CSS beside it as embed.css.
//
// Why not @jupyter-widgets/html-manager's embed-amd.js (3.6 MB)? It also carries ipywidgets 7
// (base7, controls7), the Output widget (JupyterLab's rendermime, services, an HTML sanitizer)
// and a JSON-schema validator; parsing it was most of the time to the first slider. This file
// has what the book's pages use: ipywidgets 8 base and controls, plus any other widget module
// (anywidget's front-end) loaded with require.js, as html-manager does. The build
// (_ext/sphinx_offline.py) sends a page to html-manager whenever its state needs more: an
// Output widget, ipywidgets 7 models, or descriptions allowed to hold HTML (the sanitizer).
//
// The state comes compact: the build stores it as gzip + base64 (a page's precomputed tables
// compress about tenfold) and keeps each long string that several models share (anywidget's
// _esm and _css, the same for every explorer) once, with the places it goes back to.

import * as base from "@jupyter-widgets/base";
import { ManagerBase } from "@jupyter-widgets/base-manager";
import * as controls from "@jupyter-widgets/controls";
import "@jupyter-widgets/controls/css/widgets.css";
import { MessageLoop } from "@lumino/messaging";
import { Widget } from "@lumino/widgets";

const STATE_TYPE = "application/vnd.tconv.widget-state+gzip";
const VIEW_TYPE = "application/vnd.jupyter.widget-view+json";
const BUILT_IN = {
  "@jupyter-widgets/base": base,
  "@jupyter-widgets/controls": controls,
};

// Modules that require.js loads (anywidget's front-end) ask for these by name.
for (const [name, module] of Object.entries(BUILT_IN)) window.define(name, [], () => module);

function requireModule(name) {
  return new Promise((resolve, reject) => window.requirejs([name], resolve, (error) => {
    reject(new Error(`widget module ${name} is not on this site (${error.message})`));
  }));
}

// Widget labels such as "length $n$" are typeset by MathJax 3 when the page loads it. The
// controls ask the manager's rendermime for a LaTeX typesetter (before MathJax 2's API, which
// MathJax 3 lacks). The page's MathJax takes \(...\) only ($ is MyST's, at build time), so a
// label's $...$ is rewritten first, as JupyterLab reads it. Each typeset waits for the previous
// one (MathJax 3 must not typeset twice at once) through MathJax.startup.promise. On the book's
// pages MathJax loads once every widget is rendered (_ext/widgets_before_math.js); until then
// that promise is a stand-in that settles once the loaded MathJax has typeset the page, so a
// label rendered before is typeset by the loaded MathJax (window.MathJax by then), after it.
const INLINE_DOLLARS = /(^|[^\\])\$([^$]+)\$/g;

const latexTypesetter = {
  typeset(element) {
    const typeset = () => {
      const mathjax = window.MathJax;
      if (!mathjax || !mathjax.startup || !mathjax.startup.promise) return;
      if (element.childElementCount === 0) {
        element.textContent = element.textContent.replace(INLINE_DOLLARS, "$1\\($2\\)");
      }
      mathjax.startup.promise = mathjax.startup.promise
        .then(() => window.MathJax.typesetPromise([element]))
        .catch((error) => console.error("MathJax could not typeset a widget label", error));
    };
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", typeset, { once: true });
    } else {
      typeset();
    }
  },
};

class PageManager extends ManagerBase {
  constructor() {
    super();
    this._rendermime = { latexTypesetter };
    this.views = new Set();
    // Lumino layouts (boxes of sliders) re-measure when the window changes size.
    window.addEventListener("resize", () => this.views.forEach((view) => {
      MessageLoop.postMessage(view.luminoWidget, Widget.ResizeMessage.UnknownSize);
    }));
  }

  async loadClass(className, moduleName, moduleVersion) {
    const module = BUILT_IN[moduleName] || await requireModule(moduleName);
    if (!module[className]) {
      throw new Error(`class ${className} not found in widget module ${moduleName}@${moduleVersion}`);
    }
    return module[className];
  }

  async display_view(view, element) {
    Widget.attach(view.luminoWidget, element);
    this.views.add(view);
    view.once("remove", () => this.views.delete(view));
  }

  // A static page has no kernel: comms go nowhere.
  _create_comm() {
    return Promise.resolve({ on_close() {}, on_msg() {}, close() {} });
  }

  _get_comm_info() {
    return Promise.resolve({});
  }
}

async function gunzip(base64) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(stream).text();
}

// {"widget_state": <the standard widget state>, "shared_strings": [{"text", "at": [[model id,
// state key], ...]}]}: put every shared string back where it was.
async function decodeState(script) {
  const { widget_state: state, shared_strings: shared } = JSON.parse(await gunzip(script.textContent));
  for (const { text, at } of shared) {
    for (const [modelId, key] of at) state.state[modelId].state[key] = text;
  }
  return state;
}

// The models each model refers to ("IPY_MODEL_<id>" anywhere in its state), found once: an
// explorer's state holds its whole precomputed table.
function referencesOf(state) {
  const references = new Map();
  return (modelId) => {
    if (!references.has(modelId)) {
      references.set(modelId, [...JSON.stringify(state.state[modelId].state)
        .matchAll(/IPY_MODEL_([\w-]+)/g)].map((match) => match[1])
        .filter((id) => id in state.state));
    }
    return references.get(modelId);
  };
}

// The models a view needs: its own and every model it refers to, recursively.
function closure(referencedIds, modelId, into = new Set()) {
  if (!into.has(modelId)) {
    into.add(modelId);
    referencedIds(modelId).forEach((id) => closure(referencedIds, id, into));
  }
  return into;
}

// Creates the models in `ids` not created yet, then those that only refer to created models
// (jslink's links, which no view shows): one explorer at a time.
async function createModels(manager, state, referencedIds, ids, created) {
  const fresh = new Set([...ids].filter((id) => !created.has(id)));
  for (const id of Object.keys(state.state)) {
    if (!created.has(id) && !fresh.has(id)
        && referencedIds(id).every((ref) => created.has(ref) || fresh.has(ref))
        && referencedIds(id).some((ref) => fresh.has(ref))) fresh.add(id);
  }
  if (!fresh.size) return;
  const part = Object.fromEntries([...fresh].map((id) => [id, state.state[id]]));
  await manager.set_state({ ...state, state: part });
  fresh.forEach((id) => created.add(id));
}

// A view has drawn when it has rendered and so has every view inside it (a box's children,
// which render after the box; an explorer draws in its view's render).
async function drawn(view) {
  const children = view.children_views ? await Promise.all(view.children_views.views) : [];
  await Promise.all(children.map(drawn));
}

// A view's tag is near the window when it is at most a window's height above or below it.
function nearTheWindow(tag) {
  const box = tag.parentElement.getBoundingClientRect();
  return box.bottom > -window.innerHeight && box.top < 2 * window.innerHeight;
}

// Resolves when the browser is idle (within IDLE_WAIT_MS at most) or when `tag` comes near the
// window, whichever is first: a reader who scrolls to a widget gets it next.
const IDLE_WAIT_MS = 200;

function idleOrNear(tag) {
  return new Promise((resolve) => {
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) done();
    }, { rootMargin: "100% 0px" });
    const idle = window.requestIdleCallback
      ? window.requestIdleCallback(() => done(), { timeout: IDLE_WAIT_MS })
      : setTimeout(() => done(), 0);
    function done() {
      observer.disconnect();
      (window.cancelIdleCallback || clearTimeout)(idle);
      resolve();
    }
    observer.observe(tag.parentElement);
  });
}

// Each view goes where its script tag is, its models created just before. The views near the
// window come first, in reading order (the page may open at an anchor), then the others, one
// at a time when the browser is idle: the first widget in sight is interactive before the
// others' models exist, and the page answers the reader between two widgets.
async function renderViews(manager, state) {
  const referencedIds = referencesOf(state);
  const created = new Set();
  const tags = [...document.querySelectorAll(`script[type="${VIEW_TYPE}"]`)].filter((tag) =>
    tag.parentElement && JSON.parse(tag.textContent).model_id in state.state);
  const near = tags.filter(nearTheWindow);
  const order = [...near, ...tags.filter((tag) => !near.includes(tag))];
  for (const [index, tag] of order.entries()) {
    if (index > 0) await idleOrNear(tag);
    const { model_id: modelId } = JSON.parse(tag.textContent);
    await createModels(manager, state, referencedIds, closure(referencedIds, modelId), created);
    const area = document.createElement("div");
    area.className = "widget-subarea";
    tag.parentElement.insertBefore(area, tag);
    const view = await manager.create_view(await manager.get_model(modelId));
    await manager.display_view(view, area);
    await drawn(view);
  }
  await createModels(manager, state, referencedIds, Object.keys(state.state), created);  // any left
}

// The page's MathJax waits for the widgets (see _ext/widgets_before_math.js): loading it costs
// the main thread about as much as this manager, typesetting a long page is the longest task
// while it loads, and anywidget gives each model 2 s to start. It is let go once, whatever
// happens here.
function letMathJaxGo() {
  if (typeof window.tconvWidgetsShown === "function") window.tconvWidgetsShown();
}

async function renderPage() {
  const script = document.querySelector(`script[type="${STATE_TYPE}"]`);
  if (!script) return;
  try {
    await renderViews(new PageManager(), await decodeState(script));
  } finally {
    letMathJaxGo();
  }
}

function start() {
  renderPage().catch((error) => console.error("the page's widgets could not be rendered", error));
}

// Loaded with defer, the page is parsed by now; otherwise wait until every view's tag is in it.
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start, { once: true });
} else {
  start();
}
