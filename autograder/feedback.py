"""Per-student feedback pages. They show results and the arguments of a failing case, never
the source of any test (hidden tests stay hidden)."""

from __future__ import annotations

from html import escape
from pathlib import Path

from autograder.mistakes import hints_html
from autograder.results import StudentResult, write_atomic
from tconv.testing import TOLERANCES

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
table { border-collapse: collapse; width: 100%; }
td, th { border: 1px solid #ccc; padding: .4rem .6rem; text-align: left; vertical-align: top; }
.pass { color: #17663a; } .fail { color: #a4161a; }
ul.hints { margin: .4rem 0 0; padding-left: 1.2rem; }
code, pre { background: #f5f5f5; }
"""


# Everything on the page is escaped; the policy also stops any script or remote resource,
# should a student's text ever reach the page unescaped.
NO_SCRIPT = (
    "<meta http-equiv='Content-Security-Policy' "
    "content=\"default-src 'none'; style-src 'unsafe-inline'\">"
)


def _cell_rows(cells: list[dict], book_url: str) -> str:
    rows = []
    for cell in cells:
        css = "pass" if cell["score"] >= cell["points"] else "fail"
        rows.append(
            f"<tr><td><code>{escape(cell['grade_id'])}</code></td>"
            f"<td class='{css}'>{cell['score']:g} / {cell['points']:g}</td>"
            f"<td>{escape(cell['message'])}{hints_html(cell, book_url)}</td></tr>"
        )
    return "\n".join(rows)


def _list(title: str, items: list[str]) -> str:
    if not items:
        return ""
    return (
        f"<h2>{escape(title)}</h2><ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>"
    )


def notebook_page(result: StudentResult, notebook: dict, book_url: str = "") -> str:
    """``book_url``: the root of the course's book, which the diagnoses' links point into."""
    head = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>{NO_SCRIPT}"
        f"<title>Feedback: {escape(result.assignment)} / {escape(notebook['notebook'])}</title>"
        f"<style>{STYLE}</style></head><body>"
    )
    body = [
        f"<h1>{escape(result.assignment)}: {escape(notebook['notebook'])}.ipynb</h1>",
        f"<p>Student: <code>{escape(result.student_id)}</code> &middot; "
        f"Score: <strong>{notebook['score']:g} / {notebook['max_score']:g}</strong> &middot; "
        f"Status: <code>{escape(notebook['status'])}</code></p>",
    ]
    if notebook["message"]:
        body.append(f"<p>{escape(notebook['message'])}</p>")
    if notebook["cells"]:
        body.append("<table><thead><tr><th>Test</th><th>Points</th><th>Result</th></tr></thead>")
        body.append(f"<tbody>{_cell_rows(notebook['cells'], book_url)}</tbody></table>")
    body.append(_list("Errors raised by your cells", notebook.get("cell_errors", [])))
    body.append(_list("Notes", notebook.get("notes", [])))
    body.append(
        "<p>Each test calls your functions with fresh inputs and compares the result with "
        f"PyTorch in float64 (shapes exactly; {escape(tolerances_text())}).</p>"
    )
    return head + "\n".join(body) + "</body></html>\n"


def tolerances_text() -> str:
    """Each tolerance and the functions it applies to ('exact: transposed_output_size'), from
    the one tolerance table the judge compares with."""
    functions: dict[str, list[str]] = {}
    for function, tolerance in TOLERANCES.items():
        functions.setdefault(str(tolerance), []).append(function)
    return "; ".join(f"{tolerance}: {', '.join(names)}" for tolerance, names in functions.items())


def write_feedback(out: Path, result: StudentResult, book_url: str = "") -> None:
    folder = out / "feedback" / result.student_id
    for notebook in result.notebooks:
        page = notebook_page(result, notebook, book_url)
        write_atomic(folder / f"{notebook['notebook']}.html", page)
