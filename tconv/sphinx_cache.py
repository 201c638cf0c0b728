"""Sphinx extension: re-execute the chapters whenever the tconv package changes.

myst-nb's execution cache is keyed on a notebook's own code cells, so after an edit to
tconv (a matrix builder, a plot, the widget's JS or CSS) an unchanged chapter would still show
its old outputs, including a widget view the new code no longer matches. Keying the cache
folder on a fingerprint of the package fixes that: a changed package means a new, empty cache
(and, since a config value changed, Sphinx re-reads every page); an unchanged one means a
no-change rebuild stays a no-op. Listed in _config.yml under sphinx.extra_extensions.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sphinx.application import Sphinx

PACKAGE = Path(__file__).parent
SOURCE_SUFFIXES = {".py", ".js", ".css"}


def package_fingerprint(package: Path = PACKAGE) -> str:
    """A short hash of every source file of the package (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.suffix in SOURCE_SUFFIXES and "__pycache__" not in path.parts:
            digest.update(path.relative_to(package).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cache_per_package_version(app: Sphinx, config) -> None:
    if config.nb_execution_cache_path:  # the book chose its own cache folder (execute.cache)
        return
    cache_root = Path(app.outdir).parent / ".jupyter_cache"  # myst-nb's default location
    config.nb_execution_cache_path = str(cache_root / f"tconv-{package_fingerprint()}")


def setup(app: Sphinx) -> dict:
    app.setup_extension("myst_nb")  # its config values must exist before ours is set
    app.connect("config-inited", cache_per_package_version)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
