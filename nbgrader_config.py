"""nbgrader configuration: run `nbgrader ...` from the repo root with .venv/bin first on PATH.

`solutions/` holds the source notebooks (answers and hidden tests); `exercises/` is the
student release that `nbgrader generate_assignment` makes from them. The gradebook is the
default SQLite file `gradebook.db` at the root (gitignored), or a PostgreSQL database (below).
"""

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

c = get_config()  # noqa: F821 - nbgrader injects get_config into its config files

c.CourseDirectory.course_id = "transposed-convolutions"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# Several graders at once (TAs in formgrader while a batch runs, graders on several machines)
# need a PostgreSQL gradebook instead of the SQLite file: README, "A shared gradebook". E.g.
# c.CourseDirectory.db_url = "postgresql+psycopg://grader@db.example.edu/tconv_gradebook"

# Autograde restores the hidden tests into each test cell, and feedback would show them;
# stripping them again before the HTML is written keeps them out of what students see.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
# `nbgrader export` through the csv module: student ids with commas (as LMS exports spell
# names) keep their columns, and cells that start like a formula (=, +, -, @) are neutralised.
# nbgrader puts the course root (this folder) on sys.path, so the plugin imports from here.
c.ExportApp.plugin_class = "autograder.export.SafeCsvExportPlugin"
