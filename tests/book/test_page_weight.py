"""The weight budget of the built site, read from its files (no browser, nothing timed).

A page weighs its HTML plus every file of the site it references: scripts, stylesheets,
preloads (what a script will load: MathJax's components, anywidget's front-end), icons and
images, and the fonts and images its stylesheets point to (each @font-face counted with its
first source, the one a browser takes). What scripts fetch without a preload, such as the
MathJax fonts a formula needs, is not seen here: benchmarks/slider_latency.py measures every
request in chromium.

The widget state a page embeds has its own budget: as shipped (gzip + base64 for the book's
widget manager, JSON for html-manager) and as the browser holds it once decoded.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from testkit.site import embedded_state_scripts, embedded_widget_state, loaded_urls, toc_pages

pytestmark = pytest.mark.slow

PAGE_BUDGET_BYTES = 3_000_000  # everything one page loads
# The widget state of one page, all explorers together: as shipped in the HTML, and decoded
# (the JSON the browser parses and keeps; each explorer's table is also capped by
# tconv.widgets.explorer's max_bytes).
STATE_SHIPPED_BUDGET_BYTES = 300_000
STATE_DECODED_BUDGET_BYTES = 1_000_000
REPO = Path(__file__).resolve().parents[2]
CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")
FONT_FACE = re.compile(r"@font-face\s*{[^}]*}", re.S)


def local_file(site: Path, base: Path, url: str) -> Path | None:
    """The site file a URL in ``base`` (a page or stylesheet) points to; None if it is not one."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path:
        return None  # another host, data:, or a fragment
    path = (base.parent / unquote(parts.path)).resolve()
    return path if path.is_file() and path.is_relative_to(site.resolve()) else None


def stylesheet_references(site: Path, css: Path) -> set[Path]:
    """Files a stylesheet loads: each @font-face's first source, every other url()."""
    text = css.read_text(encoding="utf-8", errors="replace")
    urls = [match[1] for face in FONT_FACE.findall(text) for match in CSS_URL.findall(face)[:1]]
    urls += [match[1] for match in CSS_URL.findall(FONT_FACE.sub("", text))]
    return {f for f in (local_file(site, css, url) for url in urls) if f}


def page_files(site: Path, page: Path) -> set[Path]:
    """Every site file the page references, and what its stylesheets reference."""
    direct = {f for f in (local_file(site, page, url)
                          for url in loaded_urls(page.read_text(encoding="utf-8"))) if f}
    return direct.union(*(stylesheet_references(site, f) for f in direct if f.suffix == ".css"))


def page_weight(site: Path, page: Path) -> tuple[int, list[tuple[int, str]]]:
    """Total bytes, and (bytes, file) of each part, largest first."""
    parts = [(page.stat().st_size, page.relative_to(site).as_posix())]
    parts += [(f.stat().st_size, f.relative_to(site.resolve()).as_posix())
              for f in page_files(site, page)]
    return sum(size for size, _ in parts), sorted(parts, reverse=True)


def test_no_page_loads_more_than_its_budget(built_site):
    pages = sorted(built_site.rglob("*.html"))
    assert len(pages) >= len(toc_pages(REPO))
    over = {}
    for page in pages:
        total, parts = page_weight(built_site, page)
        if total > PAGE_BUDGET_BYTES:
            largest = ", ".join(f"{name} {size / 1e3:.0f} KB" for size, name in parts[:6])
            over[page.relative_to(built_site).as_posix()] = f"{total / 1e6:.2f} MB ({largest})"
    assert not over, f"pages over {PAGE_BUDGET_BYTES / 1e6:.0f} MB: {over}"


@pytest.mark.parametrize("page_path", toc_pages(REPO))
def test_each_page_keeps_its_widget_state_within_budget(built_site, page_path):
    html = (built_site / page_path).read_text(encoding="utf-8")
    shipped = sum(len(text.encode()) for _, text in embedded_state_scripts(html))
    state = embedded_widget_state(html) or {}
    decoded = len(json.dumps(state, separators=(",", ":")).encode())
    assert shipped <= STATE_SHIPPED_BUDGET_BYTES, (
        f"{page_path}: widget state ships {shipped} bytes, over {STATE_SHIPPED_BUDGET_BYTES}")
    assert decoded <= STATE_DECODED_BUDGET_BYTES, (
        f"{page_path}: widget state is {decoded} bytes of JSON, over "
        f"{STATE_DECODED_BUDGET_BYTES}")


def test_the_weight_counts_what_a_page_references(tmp_path):
    """A control for page_weight: a page, its script, its stylesheet and the first source of
    the stylesheet's font are counted; another host, data: and the font's fallback are not."""
    site = tmp_path / "site"
    (site / "css").mkdir(parents=True)
    (site / "app.js").write_bytes(b"x" * 100)
    (site / "css" / "font.woff2").write_bytes(b"x" * 1000)
    (site / "css" / "font.ttf").write_bytes(b"x" * 5000)
    (site / "css" / "bg.png").write_bytes(b"x" * 10)
    (site / "css" / "style.css").write_text(
        '@font-face{src:url(font.woff2) format("woff2"),url("font.ttf")}'
        "body{background:url('bg.png')} i{background:url(data:image/png;base64,AA==)}")
    page = site / "page.html"
    page.write_text('<script src="app.js?v=1"></script><link rel="stylesheet" href="css/style.css">'
                    '<script src="https://cdn.example.org/x.js"></script>'
                    '<link rel="next" href="other.html">')
    total, parts = page_weight(site, page)
    names = {name for _, name in parts}
    assert names == {"page.html", "app.js", "css/style.css", "css/font.woff2", "css/bg.png"}
    assert total == page.stat().st_size + 100 + (site / "css/style.css").stat().st_size + 1010
