"""A valid submitted notebook's JSON, changed as a student (or a broken editor, or a script) can
change it: wrong types in any field, keys removed, huge strings, deep nesting, duplicated
grade_ids, nbgrader metadata edited to claim points or to turn an answer into a test cell,
thousands of cells. Each mutation is a plain function of the notebook's JSON, used both by the
hypothesis strategies (the property tests) and by name (one real batch)."""

from __future__ import annotations

import copy
import json
import re

from hypothesis import strategies as st

# Deep nesting and huge strings are written into the serialised text only, as placeholders
# until then: neither hypothesis (its reports) nor json.dumps has to go through them.
_PLACEHOLDER = re.compile(r'"\\u0000(deep|huge):(\d+)\\u0000"')


def deep(levels: int) -> str:
    """A value that the notebook's text holds as ``levels`` nested lists."""
    return f"\0deep:{levels}\0"


def huge(characters: int) -> str:
    """A value that the notebook's text holds as a string of ``characters`` characters."""
    return f"\0huge:{characters}\0"


def _written(match: re.Match) -> str:
    kind, size = match[1], int(match[2])
    return "[" * size + "]" * size if kind == "deep" else json.dumps("x" * size)


def serialise(notebook: dict) -> bytes:
    text = json.dumps(notebook)  # ASCII: lone surrogates are escaped, as a browser writes them
    return _PLACEHOLDER.sub(_written, text).encode()


def paths(data) -> list[tuple]:
    """Every place in ``data`` (keys and indexes from the top), without recursion."""
    found, todo = [], [((), data)]
    while todo:
        path, value = todo.pop()
        if isinstance(value, (dict, list)):
            for key, child in value.items() if isinstance(value, dict) else enumerate(value):
                found.append((*path, key))
                todo.append(((*path, key), child))
    return found


def _parent(notebook: dict, path: tuple):
    parent = notebook
    for key in path[:-1]:
        parent = parent[key]
    return parent


# --- Mutations: each takes the notebook's JSON and returns a changed copy ------------------


def replace(notebook: dict, path: tuple, value) -> dict:
    notebook = copy.deepcopy(notebook)
    _parent(notebook, path)[path[-1]] = value
    return notebook


def remove(notebook: dict, path: tuple) -> dict:
    notebook = copy.deepcopy(notebook)
    del _parent(notebook, path)[path[-1]]
    return notebook


def set_nbgrader(notebook: dict, cell: int, metadata) -> dict:
    """The cell's nbgrader metadata replaced: a claim of points, a grade_id of another cell, an
    answer cell turned into a test cell..."""
    notebook = copy.deepcopy(notebook)
    cell = notebook["cells"][cell]
    if not isinstance(cell.get("metadata"), dict):
        cell["metadata"] = {}
    cell["metadata"]["nbgrader"] = metadata
    return notebook


def copy_cell(notebook: dict, cell: int, to: int, times: int = 1) -> dict:
    """``times`` copies of a cell inserted at ``to`` (the same grade_id, more than once)."""
    notebook = copy.deepcopy(notebook)
    notebook["cells"][to:to] = [copy.deepcopy(notebook["cells"][cell]) for _ in range(times)]
    return notebook


def add_cells(notebook: dict, cell: dict, times: int) -> dict:
    notebook = copy.deepcopy(notebook)
    notebook["cells"] += [copy.deepcopy(cell) for _ in range(times)]
    return notebook


def graded_cell_claim(grade_id, points, solution: bool = False) -> dict:
    """nbgrader metadata claiming a graded (test) cell worth ``points``."""
    return {
        "grade": True,
        "grade_id": grade_id,
        "locked": True,
        "points": points,
        "schema_version": 3,
        "solution": solution,
    }


# --- Strategies -------------------------------------------------------------------------


def wrong_values(grade_ids: list[str]):
    """Anything JSON can hold where a notebook expects something else."""
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),  # NaN is not JSON
        st.text(max_size=30),
        st.sampled_from(grade_ids),
        st.integers(100_000, 3_000_000).map(huge),
        st.integers(1, 5000).map(deep),
    )
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=6,
    )


def nbgrader_claims(grade_ids: list[str]):
    """nbgrader metadata a student edited: any grade_id (a source's, a new one, not a string),
    any points, any flags, keys missing."""
    return st.fixed_dictionaries(
        {},
        optional={
            "grade": st.booleans(),
            "solution": st.booleans(),
            "locked": st.booleans(),
            "task": st.booleans(),
            "points": st.one_of(
                st.just(1000), st.integers(-(10**9), 10**9), st.floats(allow_nan=False),
                st.text(max_size=5),
            ),
            "grade_id": st.one_of(
                st.sampled_from(grade_ids), st.text(max_size=20), wrong_values(grade_ids)
            ),
            "schema_version": st.one_of(st.just(3), st.integers()),
        },
    )


def _cells(notebook: dict) -> list[int]:
    """The indexes of the cells that are still JSON objects (earlier mutations may have
    replaced the others, or the list itself)."""
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        return []
    return [i for i, c in enumerate(cells) if isinstance(c, dict)]


def _grade_ids(notebook: dict) -> list[str]:
    found = ["a_new_cell"]
    for index in _cells(notebook):
        metadata = notebook["cells"][index].get("metadata")
        nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
        if isinstance(nbgrader, dict) and isinstance(nbgrader.get("grade_id"), str):
            found.append(nbgrader["grade_id"])
    return found


SMALL_CELL = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": []}


@st.composite
def mutation(draw, notebook: dict) -> tuple[str, dict]:
    """One mutation of ``notebook``: (what was done, the changed notebook)."""
    grade_ids, cells = _grade_ids(notebook), _cells(notebook)
    kinds = ["replace", "remove"] + (["nbgrader", "copy_cell", "many_cells"] if cells else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "replace":
        path = draw(st.sampled_from(paths(notebook)))
        value = draw(wrong_values(grade_ids))
        return f"{path} = {str(value)[:60]!r}", replace(notebook, path, value)
    if kind == "remove":
        path = draw(st.sampled_from(paths(notebook)))
        return f"del {path}", remove(notebook, path)
    if kind == "nbgrader":
        cell = draw(st.sampled_from(cells))
        claim = draw(nbgrader_claims(grade_ids))
        return f"cell {cell} nbgrader = {claim!r:.200}", set_nbgrader(notebook, cell, claim)
    if kind == "copy_cell":
        cell, to = draw(st.sampled_from(cells)), draw(st.integers(0, len(notebook["cells"])))
        return f"cell {cell} copied to {to}", copy_cell(notebook, cell, to)
    times = draw(st.integers(1000, 3000))
    return f"{times} more cells", add_cells(notebook, {**SMALL_CELL, "source": "pass"}, times)


@st.composite
def mutated_notebooks(draw, notebook: dict, most: int = 3) -> tuple[list[str], bytes]:
    """A few mutations applied one after another (each to the result of the last, so a cell
    copied can then be edited): what was done, and the notebook's file."""
    done = []
    for _ in range(draw(st.integers(1, most))):
        if not paths(notebook):
            break  # nothing left to change
        what, notebook = draw(mutation(notebook))
        done.append(what)
    return done, serialise(notebook)
