"""Code the project's tests and benchmarks share (never shipped to students, never used by the
grader).

Installed with the project (`pip install -e .`, pyproject's setuptools find list) so that
tests and benchmarks import it the same way, without editing sys.path. The student release is
assembled from an allow-list (tools/student_release.py) that does not name it.

- ``testkit.browser``: Debian's chromium driven by Playwright, and the 127.0.0.1 web server and
  request guard that keep browser tests offline;
- ``testkit.site``: the built book as the tests read it (its pages in _toc.yml order, their
  widget state, sliders and explorers);
- ``testkit.mutants``: student-style submissions, correct or with one known bug, and the
  cells each bug fails;
- ``testkit.notebooks``: the source notebooks read with nbgrader's utilities and delimiters
  (graded cells, answers, hidden-test lines for the leak scans);
- ``testkit.processes``: the processes a process started, seen through /proc, and stopping a
  server for good;
- ``testkit.postgres``: a throwaway PostgreSQL server (the gradebook tests and benchmark);
- ``testkit.gradebook``: results to record without grading, and a count of what a
  gradebook's engine sends;
- ``testkit.paths``: folders made passable for another user while a test runs.
"""
