"""The hostile-input JSON reader: every failure is InvalidManifest, memory is bounded."""

from __future__ import annotations

import contextlib
import json
import pathlib
import subprocess

import pytest

from appc import _json
from appc.errors import InvalidManifest
from appc.manifest import MAX_MANIFEST_SIZE, load_manifest
from hypothesis import given
from hypothesis import strategies as st


IMAGE = '"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "a"'


def _refused(data: bytes | str, max_size: int = MAX_MANIFEST_SIZE) -> str:
    with pytest.raises(InvalidManifest) as caught:
        _json.loads(data, max_size=max_size)
    assert caught.value.summary == _json.PARSE_ERROR
    return str(caught.value)


def test_non_utf8_is_refused() -> None:
    assert "not UTF-8" in _refused(b'{"a": "\xff"}')


def test_bom_is_refused() -> None:
    assert "byte order mark" in _refused(b'\xef\xbb\xbf{"a": 1}')
    assert "byte order mark" in _refused('\ufeff{"a": 1}')


def test_duplicate_keys_are_refused_with_their_place() -> None:
    message = _refused(b'{"a": {"b": 1, "b": 2, "c": [{"d": 1, "d": 1}]}}')
    assert '$.a: duplicate key "b"' in message
    assert '$.a.c[0]: duplicate key "d"' in message


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(constant: str) -> None:
    assert f"{constant} is not a JSON value" in _refused(f'{{"a": {constant}}}')


def test_nesting_100000_deep_is_refused_without_recursion_error() -> None:
    deep = b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert "more than the limit of 128" in _refused(deep)
    with pytest.raises(InvalidManifest):
        load_manifest(deep)


def test_nesting_at_the_limit_is_read() -> None:
    depth = _json.MAX_JSON_DEPTH
    value = _json.loads("[" * depth + "]" * depth)
    assert isinstance(value, list)
    _refused("[" * (depth + 1) + "]" * (depth + 1))


def test_unterminated_deep_nesting_is_refused() -> None:
    assert "more than the limit" in _refused("[" * 5000 + '"')


def test_brackets_in_strings_do_not_count() -> None:
    assert _json.nesting_depth('["[[[[", "\\"[[["]') == 1
    assert _json.nesting_depth('"unterminated [[[[') == 0


def test_a_5000_digit_integer_is_refused() -> None:
    assert "longer than 1000 characters" in _refused(f'{{{IMAGE}, "x": {"9" * 5000}}}')


def test_a_long_float_literal_is_refused() -> None:
    assert "longer than 1000 characters" in _refused("0." + "1" * 1000)


def test_a_number_at_the_length_limit_is_read() -> None:
    assert _json.loads("9" * _json.MAX_JSON_NUMBER_LENGTH) == int("9" * 1000)


def test_a_10_mb_string_is_refused_before_parsing() -> None:
    document = b'{"x": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    assert "more than the limit of 1048576" in _refused(document)


def test_the_size_limit_counts_utf8_bytes_of_text() -> None:
    text = '"' + "\u00e9" * 600 + '"'  # 1202 bytes, 602 characters
    assert "more than the limit" in _refused(text, max_size=1000)
    assert _json.loads(text, max_size=1202) == "\u00e9" * 600


def test_lone_surrogates_are_refused() -> None:
    assert "$[1]: a string holds a lone UTF-16 surrogate" in _refused(
        '["a", "\\udc00"]'
    )
    assert "a key holds a lone UTF-16 surrogate" in _refused('{"\\ud800": 1}')
    assert "lone UTF-16 surrogate" in _refused('"\ud800"')


def test_a_surrogate_pair_is_one_character() -> None:
    assert _json.loads('"\\ud83d\\ude00"') == "\U0001f600"


def test_trailing_garbage_is_refused() -> None:
    assert "Extra data" in _refused('{"a": 1} {}')


def test_syntax_errors_have_a_line_and_column() -> None:
    assert "line 2, column 5" in _refused('{"a":\n  1,,}')


def test_numbers_keep_their_literal() -> None:
    value = _json.loads("[1.50, 1e400, -0, 7]")
    assert isinstance(value[0], _json.JSONFloat)
    assert value[0].literal == "1.50"
    assert value[1].literal == "1e400"
    assert value[2] is _json.NEGATIVE_ZERO
    assert repr(value[2]) == "-0"
    assert type(value[3]) is int


def test_escaped_strings_are_marked() -> None:
    value = _json.loads('["plain", "t\\u0061b", {"k\\u0065y": "v"}]')
    assert type(value[0]) is str
    assert isinstance(value[1], _json.EscapedStr)
    assert value[1] == "tab"
    assert value[2] == {"key": "v"}


def test_format_path() -> None:
    assert _json.format_path(()) == "$"
    assert (
        _json.format_path(("app", "isolators", 0, "value", "limit"))
        == "$.app.isolators[0].value.limit"
    )
    assert _json.format_path(("a b", 'q"')) == '$["a b"]["q\\""]'


def test_dumps_is_compact_and_escapes_like_go() -> None:
    assert (
        _json.dumps({"a": "<&>\u2028\u2029é"})
        == '{"a":"\\u003c\\u0026\\u003e\\u2028\\u2029é"}'
    )


def test_dumps_keeps_literals_and_cannot_be_forged() -> None:
    value = _json.loads('{"n": 1e400, "z": -0, "s": "\\u0000abc:0\\u0000"}')
    assert _json.dumps(value) == '{"n":1e400,"z":-0,"s":"\\u0000abc:0\\u0000"}'


def test_dumps_refuses_non_finite_python_floats() -> None:
    with pytest.raises(ValueError, match="Out of range"):
        _json.dumps(float("inf"))


@pytest.mark.interop
def test_go_agrees_on_the_hostile_inputs_it_refuses(
    actool: str, tmp_path: pathlib.Path
) -> None:
    cases = {
        "deep": b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "nan": f'{{{IMAGE}, "x": NaN}}'.encode(),
        "bom": b"\xef\xbb\xbf{" + IMAGE.encode() + b"}",
        "garbage": f"{{{IMAGE}}} x".encode(),
    }
    for name, data in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_bytes(data)
        result = subprocess.run(
            [actool, "validate", "--type=manifest", str(path)],
            capture_output=True,
            check=False,
        )
        assert result.returncode == 1, name
        assert b"error unmarshaling manifest" in result.stderr, name
        with pytest.raises(InvalidManifest):
            load_manifest(data)


@given(st.binary(max_size=200))
def test_fuzz_loads_bytes(data: bytes) -> None:
    with contextlib.suppress(InvalidManifest):
        _json.loads(data)


@given(st.text(alphabet='[]{}",:\\0123456789.eE-+ntrufalse ', max_size=200))
def test_fuzz_loads_json_alphabet(text: str) -> None:
    try:
        value = _json.loads(text)
    except InvalidManifest:
        return
    assert json.loads(_json.dumps(value)) == json.loads(text)
