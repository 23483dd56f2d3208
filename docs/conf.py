"""Sphinx configuration: MyST pages, furo theme, autodoc for the API."""

from __future__ import annotations

from importlib.metadata import version as _version


project = "appc"
author = "the appc developers"
copyright = "2026, the appc developers"
release = _version("appc")
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
exclude_patterns = ["_build"]

html_theme = "furo"
html_title = "appc"

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_default_options = {"members": True, "show-inheritance": True}

# There is no network for intersphinx here, so references into the standard
# library and dependencies cannot resolve; everything of ours must.
nitpick_ignore_regex = [
    (
        r"py:.*",
        r"(attrs|cattrs|collections|typing|typing_extensions|pgpy|urllib3|hypothesis|datetime|decimal|ipaddress|os|pathlib|hashlib|io|enum|abc|re|json|argparse|logging|subprocess|threading|types|_io|_typeshed)\..*",
    ),
    (
        r"py:class",
        r"(str|int|float|bool|bytes|bytearray|object|type|tuple|list|dict|set|frozenset|None|Exception|ValueError|LookupError|BaseException|memoryview|Ellipsis|NoneType|T|K|V|_T|Self|P|R|Path|PathLike|BinaryIO|IO|Iterator|Iterable|Callable|Mapping|Sequence)",
    ),
    # Private helpers (``appc.model._base``...) and type aliases show up in
    # signatures but are deliberately not documented.
    (
        r"py:(class|func|meth|attr)",
        r"(.*\._[A-Za-z]\w*.*|JSONValue|FrozenDict|Model|NameValues)",
    ),
    (r"py:obj", r".*"),
    (r"py:data", r".*"),
    (r"py:exc", r"(ValueError|LookupError|OSError|Exception|TypeError|KeyError)"),
]

doctest_global_setup = "import appc"
# Docstring examples are run by pytest --doctest-modules in their module's
# namespace; here only the pages' own {doctest} blocks run.
doctest_test_doctest_blocks = ""
