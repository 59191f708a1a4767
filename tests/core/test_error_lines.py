"""Error messages stay one bounded line, however large or odd the input that caused them."""

from __future__ import annotations

from rendezvous_di import ConfigError, UnknownBackendError
from rendezvous_di.text import MAX_MESSAGE, MAX_VALUE, one_line, shorten


def test_shortening_says_how_long_the_value_was_and_is_idempotent() -> None:
    text = "v" * 5000
    short = shorten(text)
    assert len(short) == MAX_VALUE
    assert short.endswith("... (5000 characters)")
    assert shorten(short) == short
    assert shorten("short") == "short"


def test_a_long_quoted_value_is_cut_and_short_names_around_it_are_kept() -> None:
    message = "x: option 'heartbeat'; valid choices: " + "a, " * 80 + "did you mean 'beat'?"
    assert one_line(message) == message  # nothing quoted is long: nothing changes
    cut = one_line(f"conf.x: {'y' * 900!r} is not valid; did you mean 'ok'?")
    assert "... (900 characters)' is not valid; did you mean 'ok'?" in cut


def test_line_breaks_are_folded_and_the_line_is_capped() -> None:
    line = one_line("first\n  second\r\nthird " + "z " * 5000)
    assert "\n" not in line
    assert "\r" not in line
    assert line.startswith("first second third z")
    assert len(line) <= MAX_MESSAGE


def test_a_thousand_choices_are_counted_not_listed() -> None:
    error = UnknownBackendError("nope", [f"backend-{i:04d}" for i in range(1000)])
    text = str(error)
    assert "backend-0000, backend-0001" in text
    assert text.endswith("and 980 more")
    assert len(error.choices) == 1000  # the full list stays on the error for code to read


def test_a_config_error_with_a_huge_value_keeps_the_value_on_the_error() -> None:
    value = "q" * 10_000
    error = ConfigError("conf.mode", value, f"{value!r} is not valid", choices=("a", "b"))
    assert error.value == value
    assert str(error).endswith("... (10000 characters)' is not valid; valid choices: a, b")
