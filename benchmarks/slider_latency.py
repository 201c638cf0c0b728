"""How fast and how heavy the book's pages are, in Debian's chromium, against the budgets.

For every page in _toc.yml, side by side with its budget:
- **weight**: every byte the page loads, read in chromium from its requests (the Resource
  Timing entries: HTML, scripts, styles, fonts, images, and what scripts load later, e.g.
  MathJax's components or a widget's module), by kind, after the page has settled and every
  slider has been moved; and the size of the HTML file and of its embedded widget state;
- **time to the first interactive widget**: from navigation start until a slider's handle is in
  the page and the widget around it has drawn (and until every widget has drawn), over several
  cold loads (a new browser context each: nothing cached); median and worst;
- **slider latency, per explorer** (``data-explorer``): from a slider keypress (keydown) to the
  explorer's redraw being in the DOM and laid out, over many presses of each of its sliders:
  p50, p95, max, and p95 of the presses that showed a setting for the first time.

Budgets (the second edition's "Done when"): p95 <= 16 ms on every explorer, the first widget
interactive <= 1.5 s (median of the cold loads), no page over 3 MB. The script exits 1 when
one is broken, listing which.

Wall-clock times depend on what else the machine runs: the load average is printed with the
figures, and a loaded machine is flagged. Beside them, from one more load traced in chromium,
the main thread's CPU time (thread time, which other processes do not inflate much): from
navigation to the first interactive widget, and per key press (the task that handles it,
redraw and layout included). On an idle machine the wall-clock figures come close to these.

Usage (from the repo root):
    .venv/bin/python benchmarks/slider_latency.py              # build as `make book` does, measure
    .venv/bin/python benchmarks/slider_latency.py --no-build   # measure the existing _build/html
    .venv/bin/python benchmarks/slider_latency.py --build-root /tmp/x   # build into /tmp/x/_build
    .venv/bin/python benchmarks/slider_latency.py --no-build --page 08_upsampling --loads 9
    .venv/bin/python benchmarks/slider_latency.py --no-build --no-cpu   # skip the traced load

A benchmark, run by hand (not in the timed tests). The weight budget is also held, without a
browser, by tests/book/test_page_weight.py.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from testkit.browser import block_other_hosts, launch_chromium, serve
from testkit.site import (
    SLIDER,
    WIDGET_VIEW_SCRIPT,
    embedded_state_scripts,
    slider_handles,
    toc_pages,
)

REPO = Path(__file__).resolve().parents[1]
BUDGET_P95_MS = 16.0  # one frame at 60 Hz
BUDGET_FIRST_INTERACTIVE_MS = 1500.0
BUDGET_PAGE_BYTES = 3_000_000
BIN = Path(sys.executable).parent
PRESS_TIMEOUT_MS = 2000
FIRST_INTERACTIVE_MARK = "tconv:first-interactive"
TRACE_CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline",
                    "blink.user_timing"]

# Installed before any page script: records when the first slider became interactive and when
# every widget view had drawn, relative to navigation start (performance.now()).
READINESS_INIT_JS = """
(() => {
  const marks = (window.__tconvMarks = {});
  // A widget has drawn when its output shows something besides its sliders.
  const shows = (area) => {
    if (!area || !area.classList.contains('widget-subarea')) return false;
    const copy = area.cloneNode(true);
    copy.querySelectorAll('__SLIDER__').forEach((s) => s.remove());
    return Boolean(copy.textContent.trim() || copy.querySelector('svg, canvas, img, table'));
  };
  const check = () => {
    const now = performance.now();
    const handle = document.querySelector('__SLIDER__ .noUi-handle');
    if (marks.firstInteractive === undefined && handle
        && shows(handle.closest('.widget-subarea'))) {
      marks.firstInteractive = now;
      performance.mark('__FIRST_MARK__');  // found in the trace of the CPU pass
    }
    const scripts = Array.from(document.querySelectorAll('__VIEW__'));
    if (marks.allDrawn === undefined && scripts.length
        && scripts.every((s) => shows(s.previousElementSibling)))
      marks.allDrawn = now;
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true});
})();
""".replace("__SLIDER__", SLIDER).replace("__VIEW__", WIDGET_VIEW_SCRIPT).replace(
    "__FIRST_MARK__", FIRST_INTERACTIVE_MARK)

# Settled: MathJax has typeset and the fonts the page uses have loaded.
SETTLED_JS = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  await document.fonts.ready;
}
"""

# Keydown time (event.timeStamp) to the first DOM change in the pressed slider's explorer
# outside its sliders, after layout; each latency is recorded under that explorer's name.
LATENCY_SETUP_JS = """
() => {
  window.__tconvLatencies = [];
  let pressed = null;
  const explorerOf = (node) => {
    const box = node && node.closest('.widget-vbox');
    const view = box && box.querySelector('[data-explorer]');
    return view ? view.dataset.explorer : '(no explorer)';
  };
  document.addEventListener('keydown', (e) => {
    pressed = {at: e.timeStamp, explorer: explorerOf(e.target)};
  }, true);
  const observer = new MutationObserver((records) => {
    if (pressed === null) return;
    const inView = records.some((r) => {
      const node = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      return node && !node.closest('__SLIDER__');
    });
    if (!inView) return;
    document.body.getBoundingClientRect();  // include style and layout of the redraw
    window.__tconvLatencies.push([pressed.explorer, performance.now() - pressed.at]);
    pressed = null;
  });
  document.querySelectorAll('.widget-subarea').forEach((area) =>
    observer.observe(area, {subtree: true, childList: true, characterData: true}));
}
""".replace("__SLIDER__", SLIDER)

# Every response the page has loaded so far, as [url, decoded body bytes, initiator type]: the
# navigation (the HTML) and every resource (scripts, styles, fonts, images, fetches).
LOADED_JS = """
() => [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
  .filter((e) => /^https?:/.test(e.name))
  .map((e) => [e.name, e.decodedBodySize, e.initiatorType])
"""

KINDS = {  # file suffix -> kind, for the weight breakdown
    ".html": "html", ".js": "js", ".css": "css", ".woff": "font", ".woff2": "font",
    ".ttf": "font", ".otf": "font", ".png": "image", ".svg": "image", ".jpg": "image",
    ".gif": "image", ".webp": "image",
}


@dataclass
class PageResult:
    page: str
    html_bytes: int
    state_bytes: int
    widgets: int = 0
    first: list[float] = field(default_factory=list)  # ms, one per cold load
    all_drawn: list[float] = field(default_factory=list)
    loaded: dict[str, int] = field(default_factory=dict)  # url -> bytes
    kinds: dict[str, int] = field(default_factory=dict)  # kind -> bytes
    latencies: dict[str, list[float]] = field(default_factory=dict)  # explorer -> ms
    first_visit: dict[str, list[float]] = field(default_factory=dict)
    sliders: dict[str, int] = field(default_factory=dict)  # explorer -> sliders
    missed: int = 0
    refused: list[str] = field(default_factory=list)
    first_cpu: float | None = None  # main-thread CPU ms before the first interactive widget
    press_cpu: dict[str, list[float]] = field(default_factory=dict)  # explorer -> CPU ms

    @property
    def weight(self) -> int:
        return sum(self.loaded.values())


def build_site(build_root: Path | None) -> Path:
    cmd = [str(BIN / "jupyter-book"), "build", str(REPO), "-W", "-n", "--keep-going"]
    if build_root:
        cmd += ["--path-output", str(build_root)]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run(cmd, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
    return (build_root or REPO) / "_build" / "html"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@dataclass
class MainThread:
    """What a chromium trace says the renderer's main thread did (times in microseconds)."""

    tasks: list[tuple[float, float, float]]  # start, end, thread time of each task
    keydowns: list[float]
    marks: dict[str, float]
    navigation_start: float

    @classmethod
    def from_trace(cls, trace: bytes) -> MainThread:
        events = json.loads(trace)["traceEvents"]
        main = {(e["pid"], e["tid"]) for e in events if e.get("name") == "thread_name"
                and e["args"].get("name") == "CrRendererMain"}
        on_main = [e for e in events if (e["pid"], e.get("tid")) in main]
        return cls(
            tasks=[(e["ts"], e["ts"] + e.get("dur", 0), e.get("tdur", 0)) for e in on_main
                   if e.get("name") == "RunTask" and e.get("ph") == "X"],
            keydowns=[e["ts"] for e in on_main if e.get("name") == "EventDispatch"
                      and (e.get("args", {}).get("data") or {}).get("type") == "keydown"],
            marks={e["name"]: e["ts"] for e in events if e.get("cat") == "blink.user_timing"},
            navigation_start=min((e["ts"] for e in on_main if e.get("name") == "navigationStart"),
                                 default=0),
        )

    def cpu_ms_until(self, mark: str) -> float | None:
        """Thread time of the tasks from navigation start until ``mark``."""
        if mark not in self.marks:
            return None
        return sum(cpu for start, _, cpu in self.tasks
                   if self.navigation_start <= start <= self.marks[mark]) / 1000

    def keydown_cpu_ms(self) -> list[float]:
        """Thread time of the task that handled each keydown, in order."""
        return [next((cpu / 1000 for start, end, cpu in self.tasks if start <= at <= end), 0.0)
                for at in self.keydowns]


def kind_of(url: str) -> str:
    path = url.split("?", 1)[0].split("#", 1)[0]
    return KINDS.get(Path(path).suffix.lower(), "other")


def sweep(handle, presses: int):
    """Key presses that walk the slider to one end and back, as a reader exploring would."""
    low, high, now = handle.evaluate(
        "(h) => ['aria-valuemin', 'aria-valuemax', 'aria-valuenow']"
        ".map((a) => Number(h.getAttribute(a)))"
    )
    direction = 1 if now < high else -1
    for _ in range(presses):
        if low == high:
            return
        if (direction > 0 and now >= high) or (direction < 0 and now <= low):
            direction = -direction
        now += direction
        yield ("ArrowRight" if direction > 0 else "ArrowLeft"), now


def open_page(browser, url: str, refused: list[str]):
    context = browser.new_context()  # a fresh profile: a cold load, nothing cached
    block_other_hosts(context, refused)
    context.add_init_script(READINESS_INIT_JS)
    page = context.new_page()
    page.goto(url, wait_until="load")
    widgets = page.locator(WIDGET_VIEW_SCRIPT).count()
    if widgets:
        page.wait_for_function("() => window.__tconvMarks.allDrawn !== undefined", timeout=60000)
    page.evaluate(SETTLED_JS)
    return context, page, widgets


def measure_latency(page, result: PageResult, presses: int) -> list[str]:
    """Sweep every slider; record the latency of each press; return the explorer of every
    press, in order (one keydown each)."""
    pressed = []
    page.evaluate(LATENCY_SETUP_JS)
    for handle in slider_handles(page):
        explorer = handle.evaluate(
            "(h) => { const b = h.closest('.widget-vbox');"
            " const v = b && b.querySelector('[data-explorer]');"
            " return v ? v.dataset.explorer : '(no explorer)'; }")
        result.sliders[explorer] = result.sliders.get(explorer, 0) + 1
        seen = {handle.get_attribute("aria-valuenow")}
        handle.focus()
        for key, value in sweep(handle, presses):
            count = page.evaluate("() => window.__tconvLatencies.length")
            pressed.append(explorer)
            page.keyboard.press(key)
            try:
                page.wait_for_function(f"() => window.__tconvLatencies.length > {count}",
                                       timeout=PRESS_TIMEOUT_MS)
            except Exception:  # noqa: BLE001 - a slider that redraws nothing is reported
                result.missed += 1
                continue
            name, latency = page.evaluate("() => window.__tconvLatencies.at(-1)")
            result.latencies.setdefault(name, []).append(latency)
            if f"{value:.1f}" not in seen:
                result.first_visit.setdefault(name, []).append(latency)
                seen.add(f"{value:.1f}")
    return pressed


def measure_cpu(browser, url: str, result: PageResult, presses: int) -> None:
    """One more cold load, traced: main-thread CPU to the first interactive widget, and per
    key press of a (shorter) sweep of every slider."""
    context = browser.new_context()
    block_other_hosts(context, result.refused)
    context.add_init_script(READINESS_INIT_JS)
    page = context.new_page()
    browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
    try:
        page.goto(url, wait_until="load")
        if result.widgets:
            page.wait_for_function("() => window.__tconvMarks.allDrawn !== undefined",
                                   timeout=60000)
        page.evaluate(SETTLED_JS)
        pressed = measure_latency(page, PageResult(result.page, 0, 0), presses)
    finally:
        thread = MainThread.from_trace(browser.stop_tracing())
        context.close()
    result.first_cpu = thread.cpu_ms_until(FIRST_INTERACTIVE_MARK)
    cpu = thread.keydown_cpu_ms()
    if len(cpu) != len(pressed):
        print(f"  {result.page}: {len(cpu)} keydowns traced for {len(pressed)} presses; "
              "no CPU per press")
        return
    for explorer, press_ms in zip(pressed, cpu, strict=True):
        result.press_cpu.setdefault(explorer, []).append(press_ms)


def measure_page(browser, base: str, site: Path, page_path: str, loads: int,
                 presses: int, cpu_presses: int) -> PageResult:
    html = (site / page_path).read_text(encoding="utf-8")
    state_bytes = sum(len(text.encode()) for _, text in embedded_state_scripts(html))
    result = PageResult(page_path, len(html.encode()), state_bytes)
    for load in range(loads):
        context, page, result.widgets = open_page(browser, base + page_path, result.refused)
        marks = page.evaluate("() => window.__tconvMarks")
        if result.widgets:
            result.first.append(marks["firstInteractive"])
            result.all_drawn.append(marks["allDrawn"])
        if load == loads - 1:  # the last load also moves every slider, then counts the bytes
            measure_latency(page, result, presses)
            page.wait_for_timeout(300)  # let what the last redraw asked for arrive
            for url, size, _ in page.evaluate(LOADED_JS):
                result.loaded[url] = max(size, result.loaded.get(url, 0))
        context.close()
    if cpu_presses:
        measure_cpu(browser, base + page_path, result, cpu_presses)
    for url, size in result.loaded.items():
        kind = "html" if url.split("?")[0].endswith(page_path) else kind_of(url)
        result.kinds[kind] = result.kinds.get(kind, 0) + size
    return result


def ms(value: float | None, width: int = 7) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}.1f}"


def kb(size: int, width: int = 7) -> str:
    return f"{size / 1000:{width}.0f}"


def report(results: list[PageResult], loads: int) -> list[str]:
    """Print the three tables; return the broken budgets, one line each."""
    broken = []
    print(f"\nWEIGHT (KB; chromium's requests after every slider moved; budget "
          f"{BUDGET_PAGE_BYTES / 1e6:.0f} MB a page)")
    head = (f"{'page':46} {'html':>7} {'state':>7} {'js':>7} {'css':>7} {'font':>7} "
            f"{'image':>7} {'other':>7} {'total':>7} {'/budget':>7} {'file':>7}")
    print(head + "\n" + "-" * len(head))
    for r in results:
        k = r.kinds
        print(f"{r.page:46} {kb(k.get('html', 0))} {kb(r.state_bytes)} {kb(k.get('js', 0))} "
              f"{kb(k.get('css', 0))} {kb(k.get('font', 0))} {kb(k.get('image', 0))} "
              f"{kb(k.get('other', 0))} {kb(r.weight)} {r.weight / BUDGET_PAGE_BYTES:7.2f} "
              f"{kb(r.html_bytes)}")
        if r.weight > BUDGET_PAGE_BYTES:
            broken.append(f"{r.page}: loads {r.weight / 1e6:.2f} MB, over "
                          f"{BUDGET_PAGE_BYTES / 1e6:.0f} MB")
        if r.refused:
            broken.append(f"{r.page}: requested other hosts {sorted(set(r.refused))}")

    print(f"\nTIME TO INTERACTIVE (ms from navigation start; {loads} cold loads; budget "
          f"{BUDGET_FIRST_INTERACTIVE_MS:.0f} ms for the first widget, median; 1st cpu: main-"
          "thread CPU before it, traced load)")
    head = (f"{'page':46} {'widgets':>7} {'1st med':>7} {'1st max':>7} {'all med':>7} "
            f"{'all max':>7} {'/budget':>7} {'1st cpu':>7}")
    print(head + "\n" + "-" * len(head))
    for r in results:
        if not r.first:
            print(f"{r.page:46} {0:7d} {ms(None)} {ms(None)} {ms(None)} {ms(None)} {ms(None)} "
                  f"{ms(None)}")
            continue
        first = statistics.median(r.first)
        print(f"{r.page:46} {r.widgets:7d} {ms(first)} {ms(max(r.first))} "
              f"{ms(statistics.median(r.all_drawn))} {ms(max(r.all_drawn))} "
              f"{first / BUDGET_FIRST_INTERACTIVE_MS:7.2f} {ms(r.first_cpu)}")
        if first > BUDGET_FIRST_INTERACTIVE_MS:
            broken.append(f"{r.page}: first widget interactive after {first:.0f} ms (median), "
                          f"over {BUDGET_FIRST_INTERACTIVE_MS:.0f} ms")

    print(f"\nSLIDER LATENCY (ms from keydown to the explorer's redraw laid out; budget p95 "
          f"{BUDGET_P95_MS:.0f} ms on every explorer; cpu p95: CPU of the key press's task, "
          "traced load)")
    head = (f"{'page':46} {'explorer':28} {'sliders':>7} {'presses':>7} {'p50':>7} {'p95':>7} "
            f"{'max':>7} {'p95 new':>7} {'/budget':>7} {'cpu p95':>7}")
    print(head + "\n" + "-" * len(head))
    every = []
    for r in results:
        for name, lat in r.latencies.items():
            every += lat
            p95 = percentile(lat, 95)
            new = r.first_visit.get(name)
            print(f"{r.page:46} {name:28} {r.sliders.get(name, 0):7d} {len(lat):7d} "
                  f"{ms(statistics.median(lat))} {ms(p95)} {ms(max(lat))} "
                  f"{ms(percentile(new, 95) if new else None)} {p95 / BUDGET_P95_MS:7.2f} "
                  f"{ms(percentile(cpu, 95) if (cpu := r.press_cpu.get(name)) else None)}")
            if p95 > BUDGET_P95_MS:
                broken.append(f"{r.page} {name}: slider p95 {p95:.1f} ms, over "
                              f"{BUDGET_P95_MS:.0f} ms")
        if r.missed:
            print(f"{'':46} {r.missed} presses redrew nothing within {PRESS_TIMEOUT_MS} ms")
            broken.append(f"{r.page}: {r.missed} slider presses redrew nothing")
    if every:
        print(f"all explorers: {len(every)} presses, p95 {percentile(every, 95):.1f} ms")
    return broken


def machine_load() -> str:
    one, five, _ = os.getloadavg()
    cores = os.cpu_count() or 1
    note = "  (LOADED: wall-clock times are inflated)" if one > cores else ""
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {cores} cores{note}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-build", action="store_true", help="measure the existing site")
    parser.add_argument("--build-root", type=Path, help="like TCONV_BUILD_ROOT: build there")
    parser.add_argument("--loads", type=int, default=5, help="cold loads per page")
    parser.add_argument("--presses", type=int, default=30, help="key presses per slider")
    parser.add_argument("--cpu-presses", type=int, default=10,
                        help="key presses per slider in the traced load")
    parser.add_argument("--no-cpu", action="store_true", help="skip the traced load")
    parser.add_argument("--page", action="append", default=[],
                        help="only pages whose path contains this (repeatable)")
    args = parser.parse_args()
    site = ((args.build_root or REPO) / "_build" / "html" if args.no_build
            else build_site(args.build_root))
    pages = [p for p in toc_pages(REPO) if not args.page or any(s in p for s in args.page)]

    from playwright.sync_api import sync_playwright

    print(f"before: {machine_load()}")
    with serve(site) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        cpu_presses = 0 if args.no_cpu else args.cpu_presses
        results = [measure_page(browser, url, site, page, max(1, args.loads), args.presses,
                                cpu_presses) for page in pages]
        browser.close()
    broken = report(results, max(1, args.loads))
    print(f"\nafter: {machine_load()}")
    if broken:
        print("\nOVER BUDGET:\n  " + "\n  ".join(broken))
        return 1
    print("\nevery budget met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
