"""Sandboxed autograder for the transposed_conv assignment: `python -m autograder grade ...`."""
