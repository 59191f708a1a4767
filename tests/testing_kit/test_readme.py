"""The README's testing example is a real test file: run it as a user would."""

from __future__ import annotations

import re

import pytest

from tests.support.procs import REPO


def test_readme_testing_example_passes(pytester: pytest.Pytester) -> None:
    readme = (REPO / "README.md").read_text()
    (example,) = [
        body
        for body in re.findall(r"^```python\n(.*?)^```", readme, re.S | re.M)
        if body.startswith("# test_training.py")
    ]
    pytester.makepyfile(test_training=example)
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=3)
