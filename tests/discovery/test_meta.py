"""Reading ac-discovery meta tags from HTML (the differential test with actool covers the tricky pages)."""

from __future__ import annotations

from appc.discovery import MetaTag, parse_meta_tags, prefix_matches
from appc.discovery._meta import go_trim_space
from hypothesis import given
from hypothesis import strategies as st


def tags(page: str | bytes) -> list[tuple[str, str, str]]:
    return [(t.name, t.prefix, t.uri) for t in parse_meta_tags(page)]


def test_head_and_body_both_count() -> None:
    page = (
        '<html><head><meta name="ac-discovery" content="a https://a"></head>'
        '<body><meta name="ac-discovery-pubkeys" content="b https://b"></body></html>'
    )
    assert tags(page) == [
        ("ac-discovery", "a", "https://a"),
        ("ac-discovery-pubkeys", "b", "https://b"),
    ]


def test_content_needs_a_prefix_and_a_uri() -> None:
    page = (
        '<meta name="ac-discovery" content="onlyprefix">'
        '<meta name="ac-discovery" content="">'
        '<meta name="ac-discovery">'
        '<meta content="a b">'
        '<meta name="not-ac" content="a b">'
    )
    assert tags(page) == []


def test_other_attributes_ignored() -> None:
    page = '<meta charset="utf-8" name="ac-x" http-equiv="x" content="a b" lang="en">'
    assert tags(page) == [("ac-x", "a", "b")]


def test_split_on_first_space_then_trim() -> None:
    assert tags('<meta name="ac-x" content=" a   b c ">') == [("ac-x", "a", "b c")]


def test_document_order_and_duplicates_kept() -> None:
    page = '<meta name="ac-x" content="p 1"><meta name="ac-x" content="p 1"><meta name="ac-y" content="p 2">'
    assert tags(page) == [("ac-x", "p", "1"), ("ac-x", "p", "1"), ("ac-y", "p", "2")]


def test_comments_and_scripts_hide_tags() -> None:
    page = '<!-- <meta name="ac-x" content="p 1"> --><script>"<meta name=ac-x content=\'p 2\'>"</script>'
    assert tags(page) == []


def test_bytes_decoded_as_utf8_with_replacement() -> None:
    page = b'<meta name="ac-x" content="p https://\xff/\xc3\xa9">'
    assert tags(page) == [("ac-x", "p", "https://\ufffd/\xe9")]


def test_go_trim_space_keeps_ascii_separators() -> None:
    assert go_trim_space("\x1c a \u3000") == "\x1c a"
    assert go_trim_space("\u00a0a\u0085") == "a"


def test_prefix_matches() -> None:
    assert prefix_matches("example.com", "example.com")
    assert prefix_matches("example.com", "example.com/a/b")
    assert prefix_matches("example.com/a/", "example.com/a/b")
    assert not prefix_matches("example.com/a", "example.com/ab")
    assert not prefix_matches("example.com/a/b", "example.com/a")
    assert not prefix_matches("/", "example.com")


def test_meta_tag_is_a_value() -> None:
    assert MetaTag(name="ac-x", prefix="p", uri="u") == MetaTag(
        name="ac-x", prefix="p", uri="u"
    )


_HTMLISH = st.lists(
    st.sampled_from(
        [
            "<meta",
            " name=",
            "ac-discovery",
            '"',
            "'",
            " content=",
            "example.com ",
            "https://x/{name}.{ext}",
            ">",
            "/>",
            "<!--",
            "-->",
            "<![CDATA[",
            "]]>",
            "<![",
            "<script>",
            "</script>",
            "<title>",
            "</title>",
            "<plaintext>",
            "&amp;",
            "&#",
            "<!",
            "</",
            "<",
            "\x00",
            "\t",
            "\n",
            " ",
            "=",
            "a",
            "<?x",
            "?>",
            "<!DOCTYPE html>",
        ]
    )
    | st.text(max_size=5),
    max_size=40,
).map("".join)


@given(_HTMLISH)
def test_never_raises_on_html_like_input(page: str) -> None:
    for tag in parse_meta_tags(page):
        assert tag.name.startswith("ac-")
        assert tag.prefix
        assert tag.uri


@given(st.binary(max_size=300))
def test_never_raises_on_bytes(page: bytes) -> None:
    parse_meta_tags(page)
