"""Sphinx extension that keeps the built book self-contained (listed in _config.yml).

The third-party browser code is vendored in ``_vendor/site`` and served through
``html_extra_path``; this extension adds what cannot be a static file, and guards the result:

- it copies anywidget's front-end from the *installed* Python package (so the JS always
  matches the Python side) and ``offline_widgets.js`` (our require.js paths entry) into
  ``vendor/``;
- it drops repeated ``<script>`` tags: sphinx-thebe 0.3.1 registers its inline
  ``const THEBE_JS_URL = ...`` twice, a redeclaration error on every page;
- it gives the theme a valid default colour mode: without one, pydata-sphinx-theme logs
  "Got invalid theme mode" as a console error on a reader's first visit;
- it warns (an error under ``-W``) when a page would load a script or stylesheet from another
  host, so "nothing loads from outside the site" is checked on every build;
- on pages that load MathJax it preloads the components MathJax's loader will fetch
  (``mathjax3_config.loader.load`` in _config.yml, and what they need), so they download at
  once, in parallel, instead of one after another once the loader has run;
- it drops, from the theme's stylesheets, the Font Awesome rules of icons the site never
  shows (pydata-sphinx-theme.css carries all 1,900, 86 KB on every page): a rule stays when
  any page or script of the site names its icon;
- it makes a change to the files the build copies into the site (``html_extra_path``,
  ``html_static_path``) or to the build's own code (``_ext/``) rewrite every page and copy
  them again: Sphinx would otherwise see no page to write and copy nothing, leaving the old
  widget manager or MathJax in place after ``_vendor/update.sh``.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

VENDOR_DIR = "vendor"  # the folder inside _vendor/site that html_extra_path serves
MATHJAX_DIR = f"{VENDOR_DIR}/mathjax"
# Components MathJax's loader fetches besides those _config.yml lists: what they depend on.
MATHJAX_DEPENDENCIES = {
    "input/tex": ["core"], "output/chtml": ["core", "output/chtml/fonts/tex"],
    "a11y/assistive-mml": ["core"],
}


def anywidget_front_end() -> Path:
    """The AMD build of anywidget's front-end that ships inside the Python package."""
    import anywidget

    return Path(anywidget.__file__).parent / "nbextension" / "index.js"


def copy_generated_assets(app: Sphinx) -> None:
    """Put the assets that come from installed packages next to the vendored ones."""
    if app.builder.format != "html":
        return
    vendor = Path(app.outdir) / VENDOR_DIR
    (vendor / "anywidget").mkdir(parents=True, exist_ok=True)
    shutil.copy2(anywidget_front_end(), vendor / "anywidget" / "index.js")
    shutil.copy2(Path(__file__).with_name("offline_widgets.js"), vendor / "offline_widgets.js")


def default_colour_mode(app: Sphinx, config) -> None:
    # pydata-sphinx-theme reads it from the template context; "auto" follows the OS setting,
    # which is also what the theme falls back to after logging the error.
    config.html_context.setdefault("default_mode", "auto")


def script_identity(script) -> tuple:
    """Two script tags with the same source and attributes (inline body included) are one.

    Inline scripts come with ``filename`` None or "" depending on who registered them.
    """
    return (script.filename or "", tuple(sorted(script.attributes.items())))


def drop_repeated_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files") or []
    seen, unique = set(), []
    for script in sorted(scripts, key=lambda s: s.priority):
        if script_identity(script) not in seen:
            seen.add(script_identity(script))
            unique.append(script)
    context["script_files"] = unique


def is_external(url: str | None) -> bool:
    return bool(url) and ("://" in url or url.startswith("//"))


def warn_external_assets(app, pagename, templatename, context, doctree) -> None:
    assets = [*(context.get("script_files") or []), *(context.get("css_files") or [])]
    for asset in assets:
        if is_external(asset.filename):
            logger.warning(
                "page %r would load %s from another host; vendor it under _vendor/site",
                pagename, asset.filename, type="tconv", subtype="external_asset",
            )


def add_preloads(context: dict, site_paths: list[str]) -> None:
    """<link rel=preload> in the page's head for scripts that another script will load.

    Written as HTML (the ``metatags`` slot of the head), not as Sphinx assets: Sphinx would add
    a ``?v=`` checksum, the URL would differ from the one the loader asks for, and the browser
    would fetch the file twice.
    """
    links = "".join(f'<link rel="preload" as="script" href="{context["pathto"](path, 1)}" />\n'
                    for path in site_paths)
    context["metatags"] = context.get("metatags", "") + links


def mathjax_components(config) -> list[str]:
    listed = ((config.mathjax3_config or {}).get("loader") or {}).get("load") or []
    needed = [dep for name in listed for dep in MATHJAX_DEPENDENCIES.get(name, [])]
    return list(dict.fromkeys(needed + list(listed)))  # dependencies first, each once


def preload_mathjax_components(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files") or []
    if any(str(s.filename).endswith(app.config.mathjax_path) for s in scripts if s.filename):
        add_preloads(context, [f"{MATHJAX_DIR}/{name}.js"
                               for name in mathjax_components(app.config)])


# One rule of Font Awesome's icon catalogue: `.fa-bars:before,.fa-navicon:before{content:"\f0c9"}`.
ICON_RULE = re.compile(r'((?:\.fa-[\w-]+:before,?)+)\{content:"[^"]*"\}')
ICON_NAME = re.compile(r"\bfa-([\w-]+)")


def icon_names_in_use(outdir: Path) -> set[str]:
    """Every fa-<name> the site's pages and scripts mention (scripts add icons, e.g. the
    theme's search dialog its close button)."""
    files = [*outdir.rglob("*.html"), *(outdir / "_static").rglob("*.js")]
    return {name for f in files
            for name in ICON_NAME.findall(f.read_text(encoding="utf-8", errors="replace"))}


def without_unused_icons(css: str, used: set[str]) -> str:
    def keep(rule: re.Match) -> str:
        names = re.findall(r"\.fa-([\w-]+):before", rule.group(1))
        return rule.group(0) if used.intersection(names) else ""

    return ICON_RULE.sub(keep, css)


def drop_unused_icon_rules(app: Sphinx, exception) -> None:
    if exception or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    used = icon_names_in_use(outdir)
    for sheet in (outdir / "_static").rglob("*.css"):
        css = sheet.read_text(encoding="utf-8")
        trimmed = without_unused_icons(css, used)
        if trimmed != css:
            sheet.write_text(trimmed, encoding="utf-8")


def files_digest(folders: Iterable[Path]) -> str:
    """A short hash of every file's path and content under the folders (not Python's
    __pycache__, which importing writes)."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*")
                           if p.is_file() and "__pycache__" not in p.parts):
            digest.update(path.relative_to(folder.parent).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def fingerprint_site_code(app: Sphinx, config) -> None:
    """An "html" config value (Sphinx rewrites every page when one changes) that follows the
    copied folders and this extension's folder."""
    confdir = Path(app.confdir)
    copied = [confdir / d for d in [*config.html_extra_path, *config.html_static_path]]
    config.tconv_site_code = files_digest([*copied, Path(__file__).parent])


def setup(app: Sphinx) -> dict:
    app.add_config_value("tconv_site_code", "", "html")
    app.connect("config-inited", default_colour_mode)
    app.connect("config-inited", fingerprint_site_code)
    app.connect("builder-inited", copy_generated_assets)
    # Late priority: run after every other extension has added its per-page scripts.
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    app.connect("html-page-context", warn_external_assets, priority=901)
    app.connect("html-page-context", preload_mathjax_components, priority=902)
    app.connect("build-finished", drop_unused_icon_rules)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
