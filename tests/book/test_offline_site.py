"""The built site's HTML, read as files: everything it loads is its own, and current.

The browser tests see what chromium fetched on the toc pages; these read every HTML file the
build wrote (search, index pages included) and the vendored assets themselves.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import anywidget
import pytest

from testkit.site import loaded_urls

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
VENDOR = REPO / "_vendor" / "site" / "vendor"


def html_pages(built_site: Path) -> list[Path]:
    """Every HTML file of the site; never none (the loops below must check something)."""
    pages = sorted(built_site.rglob("*.html"))
    assert pages, f"no HTML files in {built_site}"
    return pages


def test_no_page_loads_anything_from_another_host(built_site):
    offenders = {}
    for page in html_pages(built_site):
        external = [u for u in loaded_urls(page.read_text(encoding="utf-8"))
                    if re.match(r"^(https?:)?//", u)]
        if external:
            offenders[str(page.relative_to(built_site))] = external
    assert not offenders, f"pages loading from other hosts: {offenders}"


def test_thebe_configuration_is_declared_once_per_page(built_site):
    for page in html_pages(built_site):
        html = page.read_text(encoding="utf-8")
        assert html.count("const THEBE_JS_URL") <= 1, f"{page}: THEBE_JS_URL declared twice"


def test_anywidget_front_end_is_the_installed_packages(built_site):
    installed = Path(anywidget.__file__).parent / "nbextension" / "index.js"
    assert (built_site / "vendor" / "anywidget" / "index.js").read_bytes() == installed.read_bytes()


@pytest.mark.parametrize("path, version_text", [
    ("requirejs/require.js", "RequireJS 2.3.8"),
    ("mathjax/startup.js", '"3.2.2"'),
    ("mathjax/core.js", '"3.2.2"'),
    ("html-manager/embed-amd.js", '"1.0.15"'),
])
def test_vendored_files_are_the_pinned_versions(path, version_text):
    versions = (VENDOR / "VERSIONS").read_text()
    assert version_text.strip('"').split()[-1] in versions
    assert version_text in (VENDOR / path).read_text(encoding="utf-8")


def test_the_widget_manager_bundle_was_built_from_the_pinned_packages():
    """Every package _vendor/update.sh bundled into vendor/widgets/embed.js is listed, with its
    licence, at the version package-lock.json pins (a bundle built from other packages, or a
    lock changed without rebuilding, fails here)."""
    lock = json.loads((REPO / "_vendor" / "widgets" / "package-lock.json").read_text())
    pinned = {path.removeprefix("node_modules/"): entry["version"]
              for path, entry in lock["packages"].items() if path.startswith("node_modules/")}
    licences = (VENDOR / "widgets" / "THIRD_PARTY_LICENSES.txt").read_text(encoding="utf-8")
    bundled = dict(re.findall(r"^((?:@[\w.-]+/)?[\w.-]+) (\d[\w.+-]*) \(.*\)$", licences, re.M))
    assert {"@jupyter-widgets/base", "@jupyter-widgets/controls", "backbone"} <= bundled.keys()
    assert {name: pinned.get(name) for name in bundled} == bundled
