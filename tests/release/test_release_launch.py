"""Every notebook page of the built site launches its notebook from the student release.

The buttons are read from the built HTML, as a reader would click them, and each URL is taken
apart: it must name the release repository and branch from _config.yml, open the page's own
notebook, and that notebook must exist in the release that `make student-release` writes
(never under solutions/).
"""

from __future__ import annotations

import html.parser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from release_helpers import REPO, book_config, notebook_pages, release_path, toc_files

pytestmark = pytest.mark.slow
PAGES = notebook_pages()


class LinkCollector(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.buttons: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "a" and "href" in attributes:
            self.hrefs.append(attributes["href"])
        if tag == "button":
            self.buttons.append(attributes)


def page_links(built_site: Path, docname: str) -> LinkCollector:
    collector = LinkCollector()
    collector.feed((built_site / f"{docname}.html").read_text(encoding="utf-8"))
    return collector


def links_to(hrefs: list[str], base_url: str) -> list[str]:
    return sorted({h for h in hrefs if h.startswith(base_url.rstrip("/") + "/")})


def release_repo() -> tuple[str, str, str]:
    """(url, org/repo, branch) of the student release."""
    repository = book_config()["repository"]
    url = repository["url"].rstrip("/")
    return url, urlsplit(url).path.strip("/"), repository["branch"]


def one_link(hrefs: list[str], base_url: str, docname: str) -> str:
    found = links_to(hrefs, base_url)
    assert len(found) == 1, f"{docname}: expected one launch link to {base_url}, got {found}"
    return found[0]


def assert_opens_release_notebook(path: str, docname: str, student_release: Path) -> None:
    assert path == release_path(docname), f"{docname}: opens {path!r}"
    assert not path.startswith("solutions/"), path
    assert (student_release / path).is_file(), f"{path} is not in the student release"


@pytest.mark.parametrize("docname", PAGES)
def test_binder_opens_the_release_notebook(built_site, student_release, docname):
    binder = book_config()["launch_buttons"]["binderhub_url"].rstrip("/")
    _, org_repo, branch = release_repo()
    url = urlsplit(one_link(page_links(built_site, docname).hrefs, binder, docname))
    assert url.path == f"/v2/gh/{org_repo}/{branch}", url.geturl()
    (urlpath,) = parse_qs(url.query)["urlpath"]
    assert urlpath.startswith("lab/tree/"), urlpath
    assert_opens_release_notebook(urlpath.removeprefix("lab/tree/"), docname, student_release)


@pytest.mark.parametrize("docname", PAGES)
def test_colab_opens_the_release_notebook(built_site, student_release, docname):
    colab = book_config()["launch_buttons"]["colab_url"].rstrip("/")
    _, org_repo, branch = release_repo()
    url = urlsplit(one_link(page_links(built_site, docname).hrefs, colab, docname))
    prefix = f"/github/{org_repo}/blob/{branch}/"
    assert url.path.startswith(prefix), url.geturl()
    assert_opens_release_notebook(url.path.removeprefix(prefix), docname, student_release)


@pytest.mark.parametrize("docname", PAGES)
def test_jupyterhub_pulls_the_release_and_opens_the_notebook(built_site, student_release, docname):
    hub = book_config()["launch_buttons"]["jupyterhub_url"]
    assert hub, "launch_buttons.jupyterhub_url is empty: no hub button would be shown"
    repo_url, org_repo, branch = release_repo()
    url = urlsplit(one_link(page_links(built_site, docname).hrefs, hub, docname))
    assert url.path == "/hub/user-redirect/git-pull", url.geturl()
    query = {key: values[0] for key, values in parse_qs(url.query).items()}
    assert query["repo"] == repo_url and query["branch"] == branch, query
    # nbgitpuller clones into a folder named after the repository.
    clone_dir = org_repo.split("/")[1]
    prefix = f"lab/tree/{clone_dir}/"
    assert query["urlpath"].startswith(prefix), query["urlpath"]
    assert_opens_release_notebook(query["urlpath"].removeprefix(prefix), docname, student_release)


@pytest.mark.parametrize("docname", PAGES)
def test_download_and_repository_buttons(built_site, docname):
    links = page_links(built_site, docname)
    page_dir = (built_site / docname).parent
    downloads = [h for h in links.hrefs if h.endswith(".ipynb") and "://" not in h]
    assert downloads, f"{docname}: no .ipynb download button"
    for href in downloads:
        assert (page_dir / href).resolve().is_file(), f"{docname}: download {href} is missing"
    repo_url, _, _ = release_repo()
    assert repo_url in links.hrefs, f"{docname}: no repository button to {repo_url}"


@pytest.mark.parametrize("docname", PAGES)
def test_live_code_button_is_on_the_page(built_site, docname):
    buttons = page_links(built_site, docname).buttons
    assert any("initThebeSBT()" in b.get("onclick", "") for b in buttons), docname
    page = (built_site / f"{docname}.html").read_text(encoding="utf-8")
    _, org_repo, branch = release_repo()
    # sphinx-thebe's per-page config sends the kernel request to Binder for the release repo.
    assert f'repo: "{org_repo}"' in page and f'ref: "{branch}"' in page, docname


def test_every_chapter_and_exercise_is_a_notebook_page():
    """Pages without a kernel get no launch buttons: every toc page but the root is a notebook."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    pages = [f for f in toc_files(toc) if f != toc["root"]]
    assert any(p.startswith("exercises/") for p in pages), pages
    assert [p for p in pages if p not in PAGES] == [], "not notebooks (no kernelspec)"


def test_every_released_exercise_is_a_page_of_the_site():
    """A new exercise notebook cannot be left off the site (and so without launch buttons)."""
    released = {
        p.relative_to(REPO).with_suffix("").as_posix()
        for p in (REPO / "exercises").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
    }
    assert released, "no released exercise notebooks"
    assert released <= set(PAGES), f"not in _toc.yml: {sorted(released - set(PAGES))}"
