"""Read ``ac-discovery`` and ``ac-discovery-pubkeys`` meta tags from an HTML page.

The Go reference tokenizes the whole document (head and body alike) and
keeps every ``<meta>`` start tag whose ``name`` begins with ``ac-`` and whose
``content`` is a prefix and a URI separated by the first space. This module
does the same with the standard library's :class:`html.parser.HTMLParser`,
taught the two places where it differs from Go's HTML5 tokenizer: the
elements whose content is raw text (a ``<meta>`` inside ``<title>`` or
``<noscript>`` is text, not a tag) and ``<![`` sections (a bogus comment up
to the next ``>``, where Python would raise).

>>> page = b'<html><head><meta name="ac-discovery" content="example.com https://example.com/{name}.{ext}"></head></html>'
>>> parse_meta_tags(page)
(MetaTag(name='ac-discovery', prefix='example.com', uri='https://example.com/{name}.{ext}'),)
"""

from __future__ import annotations

import html.parser

import attrs


__all__ = [
    "DISCOVERY",
    "PUBKEYS",
    "MetaTag",
    "go_trim_space",
    "parse_meta_tags",
    "prefix_matches",
]

#: The meta tag naming image endpoint templates.
DISCOVERY = "ac-discovery"
#: The meta tag naming public key URLs.
PUBKEYS = "ac-discovery-pubkeys"

# Go's unicode.IsSpace: what strings.TrimSpace removes (Python's str.strip
# also removes the ASCII separators \x1c-\x1f, which Go keeps).
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"

# The elements whose content Go's tokenizer reads as raw text or RCDATA.
_RAW_TEXT_ELEMENTS = (
    "iframe",
    "noembed",
    "noframes",
    "noscript",
    "plaintext",
    "script",
    "style",
    "textarea",
    "title",
    "xmp",
)


def go_trim_space(text: str) -> str:
    """Trim leading and trailing white space as Go's ``strings.TrimSpace`` does.

    >>> go_trim_space("\\t a b \\n"), go_trim_space("\\x1fa")
    ('a b', '\\x1fa')
    """
    return text.strip(_GO_SPACE)


def prefix_matches(prefix: str, name: str) -> bool:
    """Whether a meta tag's ``prefix`` covers the image ``name``, on whole path components.

    Unlike the Go reference (a plain string prefix), ``example.com/foo`` does
    not cover ``example.com/foobar``. A trailing ``/`` on the prefix is ignored.

    >>> prefix_matches("example.com/foo", "example.com/foo/bar"), prefix_matches("example.com/foo", "example.com/foobar")
    (True, False)
    """
    wanted = prefix.removesuffix("/")
    if not wanted:
        return False
    return name == wanted or name.startswith(wanted + "/")


@attrs.frozen(kw_only=True)
class MetaTag:
    """One ``<meta name="ac-..." content="PREFIX URI">`` tag."""

    name: str
    prefix: str
    uri: str


class _MetaParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[MetaTag] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _RAW_TEXT_ELEMENTS:
            # Python knows only script and style as raw text; Go knows more.
            self.set_cdata_mode(tag)
            return
        if tag != "meta":
            return
        name = prefix = uri = ""
        # Go's loop: the last ``name`` wins; a ``content`` without a space
        # leaves an earlier good one in place.
        for key, value in attrs:
            text = value or ""
            if key == "name":
                name = text
            elif key == "content":
                head, space, rest = go_trim_space(text).partition(" ")
                if space:
                    prefix, uri = head, go_trim_space(rest)
        if name.startswith("ac-") and prefix and uri:
            self.tags.append(MetaTag(name=name, prefix=prefix, uri=uri))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def parse_html_declaration(self, i: int) -> int:
        # Go reads "<![...>" (CDATA outside foreign content) as a bogus comment.
        if self.rawdata.startswith("<![", i):
            return self.parse_bogus_comment(i)
        return super().parse_html_declaration(i)


def parse_meta_tags(page: bytes | str) -> tuple[MetaTag, ...]:
    """Every ``ac-*`` meta tag with a prefix and a URI, in document order.

    Bytes are decoded as UTF-8 (bad bytes replaced), whatever the page's
    declared charset, as Go does.

    >>> parse_meta_tags("<meta name='ac-discovery' content='no-uri'><META NAME=ac-x CONTENT='p u'/>")
    (MetaTag(name='ac-x', prefix='p', uri='u'),)
    """
    text = page.decode("utf-8", "replace") if isinstance(page, bytes) else page
    parser = _MetaParser()
    parser.feed(text)
    parser.close()
    return tuple(parser.tags)
