"""URL templates: variables, encoding, unfilled variables."""

from __future__ import annotations

import urllib.parse

import pytest

from appc.discovery._template import (
    check_label_values,
    quote_value,
    render,
    template_variables,
)
from appc.errors import InvalidAppString
from hypothesis import given
from hypothesis import strategies as st


def test_ext_renders_both_ways() -> None:
    variables = template_variables("example.com/app", {})
    assert (
        render("https://h/{name}-{version}.{ext}", variables, "aci")
        == "https://h/example.com/app-latest.aci"
    )
    assert (
        render("https://h/{name}-{version}.{ext}", variables, "aci.asc")
        == "https://h/example.com/app-latest.aci.asc"
    )


def test_empty_version_defaults_to_latest() -> None:
    assert template_variables("a", {"version": ""})["version"] == "latest"
    assert template_variables("a", {"version": "1"})["version"] == "1"


@pytest.mark.parametrize(
    "template",
    [
        "https://h/{unknown}.{ext}",
        "https://h/{{name}}.{ext}",
        "https://h/{}",
        "https://h/{os}-{x}",
    ],
)
def test_unfilled_variables_skip_the_template(template: str) -> None:
    assert render(template, template_variables("a", {"os": "linux"}), "aci") is None


def test_leftover_must_close_on_the_same_line() -> None:
    # Go's `{.*?}` does not cross a newline.
    assert render("https://h/{\n}", {}, "aci") == "https://h/{\n}"
    assert render("https://h/{no-close", {}, "aci") == "https://h/{no-close"


def test_values_cannot_inject_variables() -> None:
    variables = template_variables("a", {"os": "{arch}", "arch": "x86"})
    assert render("{os}-{arch}", variables, "aci") == "%7Barch%7D-x86"


def test_check_label_values() -> None:
    check_label_values({"version": "...", "os": "a.b"})
    with pytest.raises(InvalidAppString):
        check_label_values({"channel": "."})


@given(st.text(max_size=30))
def test_quoted_values_stay_in_one_path_segment(value: str) -> None:
    quoted = quote_value(value)
    assert set(quoted) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%"
    )
    assert urllib.parse.unquote(quoted) == value
