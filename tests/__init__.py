"""Test suite (a package, so that pytest puts the repository on sys.path, not tests/: the
folder tests/autograder must never be found as the package autograder)."""
