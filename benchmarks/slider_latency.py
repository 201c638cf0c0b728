"""How fast the book's sliders answer, in Debian's chromium, with no kernel.

For every page in _toc.yml it prints:
- the time from navigation to the first interactive slider (its handle is in the page and the
  widget around it has drawn), and to all widgets drawn;
- the time from a slider keypress (keydown) to the widget's redraw being in the DOM and laid
  out, over many presses of every slider: p50, p95, max, and p95 of the presses that showed a
  slider setting for the first time (nothing cached in the view yet).

Usage (from the repo root):
    .venv/bin/python benchmarks/slider_latency.py              # build as `make book` does, measure
    .venv/bin/python benchmarks/slider_latency.py --no-build   # measure the existing _build/html
    .venv/bin/python benchmarks/slider_latency.py --build-root /tmp/x   # build into /tmp/x/_build

A benchmark, not a test: it asserts nothing and prints the goal next to each figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "book"))

from site_browser import (  # noqa: E402 - the shared helpers live with the browser tests
    SLIDER,
    WIDGET_VIEW_SCRIPT,
    block_other_hosts,
    launch_chromium,
    serve,
    slider_handles,
    toc_pages,
)

GOAL_P95_MS = 16.0  # one frame at 60 Hz
BIN = Path(sys.executable).parent

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
    if (marks.firstInteractive === undefined && handle && shows(handle.closest('.widget-subarea')))
      marks.firstInteractive = now;
    const scripts = Array.from(document.querySelectorAll('__VIEW__'));
    if (marks.allDrawn === undefined && scripts.length
        && scripts.every((s) => shows(s.previousElementSibling)))
      marks.allDrawn = now;
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true});
})();
""".replace("__SLIDER__", SLIDER).replace("__VIEW__", WIDGET_VIEW_SCRIPT)

# Keydown time (event.timeStamp) to the first DOM change outside the sliders, after layout.
LATENCY_SETUP_JS = """
() => {
  window.__tconvLatencies = [];
  let pressedAt = null;
  document.addEventListener('keydown', (e) => { pressedAt = e.timeStamp; }, true);
  const observer = new MutationObserver((records) => {
    if (pressedAt === null) return;
    const inView = records.some((r) => {
      const node = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      return node && !node.closest('__SLIDER__');
    });
    if (!inView) return;
    document.body.getBoundingClientRect();  // include style and layout of the redraw
    window.__tconvLatencies.push(performance.now() - pressedAt);
    pressedAt = null;
  });
  document.querySelectorAll('.widget-subarea').forEach((area) =>
    observer.observe(area, {subtree: true, childList: true, characterData: true}));
}
""".replace("__SLIDER__", SLIDER)


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


def sweep(handle, presses: int):
    """Key presses that walk the slider to one end and back, as a reader exploring would."""
    low, high, now = handle.evaluate(
        "(h) => ['aria-valuemin', 'aria-valuemax', 'aria-valuenow']"
        ".map((a) => Number(h.getAttribute(a)))"
    )
    direction = 1 if now < high else -1
    for _ in range(presses):
        if (direction > 0 and now >= high) or (direction < 0 and now <= low):
            direction = -direction
        if low == high:
            return
        now += direction
        yield ("ArrowRight" if direction > 0 else "ArrowLeft"), now


def measure_page(browser, url: str, presses: int) -> dict:
    refused: list[str] = []
    context = browser.new_context()
    block_other_hosts(context, refused)
    context.add_init_script(READINESS_INIT_JS)
    page = context.new_page()
    page.goto(url, wait_until="load")
    widgets = page.locator(WIDGET_VIEW_SCRIPT).count()
    if widgets:
        page.wait_for_function("() => window.__tconvMarks.allDrawn !== undefined", timeout=30000)
    marks = page.evaluate("() => window.__tconvMarks")
    page.evaluate(LATENCY_SETUP_JS)
    latencies, first_visit, missed = [], [], 0
    handles = slider_handles(page)
    for index, handle in enumerate(handles):
        seen = {(index, handle.get_attribute("aria-valuenow"))}
        handle.focus()
        for key, value in sweep(handle, presses):
            count = page.evaluate("() => window.__tconvLatencies.length")
            page.keyboard.press(key)
            try:
                page.wait_for_function(
                    f"() => window.__tconvLatencies.length > {count}", timeout=2000)
            except Exception:  # noqa: BLE001 - a slider that redraws nothing is reported
                missed += 1
                continue
            latency = page.evaluate("() => window.__tconvLatencies.at(-1)")
            latencies.append(latency)
            if (index, f"{value:.1f}") not in seen:
                first_visit.append(latency)
                seen.add((index, f"{value:.1f}"))
    context.close()
    return {
        "widgets": widgets, "sliders": len(handles), "presses": len(latencies), "missed": missed,
        "first": marks.get("firstInteractive"), "all": marks.get("allDrawn"),
        "latencies": latencies, "first_visit": first_visit, "refused": refused,
    }


def fmt(ms: float | None) -> str:
    return f"{'-':>7}" if ms is None else f"{ms:7.1f}"


def report(results: dict[str, dict]) -> None:
    head = (f"{'page':50} {'sliders':>7} {'to 1st slider':>13} {'all drawn':>9} {'presses':>7} "
            f"{'p50':>7} {'p95':>7} {'max':>7} {'p95 new':>7} {'p95/goal':>8}")
    print(head)
    print("-" * len(head))
    every = []
    for page, r in results.items():
        lat = r["latencies"]
        every += lat
        p95 = percentile(lat, 95) if lat else None
        print(f"{page:50} {r['sliders']:7d} {fmt(r['first']):>13} {fmt(r['all']):>9} "
              f"{r['presses']:7d} {fmt(statistics.median(lat) if lat else None)} {fmt(p95)} "
              f"{fmt(max(lat) if lat else None)} "
              f"{fmt(percentile(r['first_visit'], 95) if r['first_visit'] else None)} "
              f"{(p95 / GOAL_P95_MS if p95 else 0):8.2f}")
        if r["missed"]:
            print(f"  {r['missed']} presses redrew nothing within 2 s")
        if r["refused"]:
            print(f"  refused requests to other hosts: {sorted(set(r['refused']))}")
    if every:
        p95 = percentile(every, 95)
        print(f"\nall pages: {len(every)} presses, p95 {p95:.1f} ms vs goal {GOAL_P95_MS:.0f} ms "
              f"(ratio {p95 / GOAL_P95_MS:.2f}); times in ms from keydown / navigation start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-build", action="store_true", help="measure the existing site")
    parser.add_argument("--build-root", type=Path, help="like TCONV_BUILD_ROOT: build there")
    parser.add_argument("--presses", type=int, default=30, help="key presses per slider")
    args = parser.parse_args()
    site = ((args.build_root or REPO) / "_build" / "html" if args.no_build
            else build_site(args.build_root))

    from playwright.sync_api import sync_playwright

    results = {}
    with serve(site) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for page in toc_pages(REPO):
            results[page] = measure_page(browser, url + page, args.presses)
        browser.close()
    report(results)


if __name__ == "__main__":
    main()
