"""Regenerate tests/vectors/{names,semver,image_id,labels,common,quantity,app_string}.json.

Inputs are the Go reference's own test tables (schema/types/*_test.go,
schema/types/resource/*_test.go, discovery/parse_test.go) plus edge cases of
ours; every expected verdict, output and message comes from running the Go
reference through ``values_oracle.go``. Run from the repository root:

    python tests/oracle/generate_vectors.py
"""

from __future__ import annotations

import json
import pathlib
import sys

from typing import Any


sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from tests.oracle import GoOracle, build_oracle


VECTORS = pathlib.Path(__file__).resolve().parents[1] / "vectors"
SOURCE = "appc/spec v0.8.11 (Go 1.19) via tests/oracle/values_oracle.go"

# schema/types/acidentifier_test.go and acname_test.go, then ours.
GO_IDENTIFIERS = [
    "asdf", "foo-bar-baz", "zab_rab_oof", "database", "my~database", "example.com/database",
    "example.com/~bob/database", "example.com/ourapp-1.0.0",
    "sub-domain.example.com/org/product/release-1.0.0",
    "sub-domain.example.com/org/product/~alice/release-1.0.0",
    "", "BAR", "foo#", "EXAMPLE.com", "foo.com/BAR", "/app", "app/", "-app", "app-", ".app",
    "app.", "_app", "app_", "~app", "app~", "Foo", "-foo", "example-", "blargh",
    "example-ourapp-1-0-0", "example.com/app#1", "~example.com/app1", "example.com/app_1",
    "example/database", "example/database-1.0.0", "foo",
]  # fmt: skip
OUR_IDENTIFIERS = [
    "a..b", "a//b", "a/-b", "a_-~b", "a--b", "a", "0", "app\n", "\napp", "app ", "ÿ", "é",
    "\u0130", "\u212a", "a\x00b", "a" * 300, "-", "--", "a-", "1-2", "a.b", "x/y/z",
]  # fmt: skip
GO_SANITIZE = [
    "foo#", "FOO", "EXAMPLE.com", "foo.com/BAR", "/app", "app/", "-app", "app-", ".app", "app.",
    "_app", "app_", "~app", "app~", "app///", "-/.app..", "-/app.name-test/-/",
    "sub-domain.example.com/org/product/~alice/release-1.0.0", "example.com/app_1",
    "sub-domain.example.com/org/product/release-1.0.0", "__", "..", "//", "", ".//-",
]  # fmt: skip
OUR_SANITIZE = [
    "\u0130stanbul",
    "\u212aelvin",
    "Ünïcode/App",
    "a  b",
    "ÀB_C",
    "---x---",
    "é",
]

# schema/types/semver_test.go, then ours (anchors.md 1.4).
GO_SEMVERS = [
    "1.0.0",
    "3.2.1",
    "3.2.1-foo",
    "1.2.3-alpha+git",
    "1",
    "1.2.3.4",
    "v1.2.3",
]
OUR_SEMVERS = [
    "0.8.11", "1.0.0-rc.1+build.5", "0.0.1", "01.0.0", "1.0.0-", "1.0.0+", "1.0.0-+",
    "1.0", "", " 1.0.0", "1.0.0 ", "1.2.3-alpha..1", "0.0.0", "0.0.0-a", "0.0.0+b",
    "00.00.00", "1.0.0-a-b", "1.0.0--", "1.0.0+a+b", "1.0.0-a_b", "9223372036854775807.0.0",
    "9223372036854775808.0.0", "-1.0.0", "+1.0.0", "1.-1.0", "1..0", "1.0.0-é", "\u0661.0.0",
    "1_0.0.0", "99.0.0", "1.0.0\n",
]  # fmt: skip
SEMVER_ORDER = [
    "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
    "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.0-1", "1.0.0-01", "1.0.0--1", "1.0.0-a-1",
    "1.0.0-9223372036854775808", "1.0.0-9223372036854775807", "2.0.0", "2.1.0", "2.1.1",
    "0.0.1", "1.0.0+build", "01.0.0",
]  # fmt: skip

# schema/types/hash_test.go (as strings), then ours (anchors.md 1.5).
HASHES = [
    "sha512-abcdefghi", "sha512-06c733b1838136838e6d2d3e8fa5aea4c7905e92", "sha512-", "sha1-abcdef",
    "-abcdef", "-", "", "sha512-abc", "sha512-ABCDEF", "sha512-zz", "sha512-...", "SHA512-abc",
    "sha512", "sha512-a-b", "sha512--", "sha512-" + "a" * 128, "sha256-abc",
]  # fmt: skip
SHORT_HASHES = [
    "sha512-" + "a" * 128,
    "sha512-abc",
    "",
    "sha512-" + "0123456789abcdef" * 2 + "x",
]

# schema/types/labels_test.go (the JSON documents), then ours.
GO_LABELS = [
    '[{"name": "os", "value": "linux"}, {"name": "arch", "value": "amd64"}]',
    '[{"name": "os", "value": "linux"}, {"name": "arch", "value": "aarch64"}]',
    '[{"name": "os", "value": "linux"}, {"name": "arch", "value": "arm64"}]',
    '[{"name": "os", "value": "linux"}, {"name": "arch", "value": "aarch64_be"}]',
    '[{"name": "os", "value": "linux"}, {"name": "arch", "value": "arm64_be"}]',
    '[{"name": "os", "value": "linux"}, {"name": "arch", "value": "arm"}]',
    '[{"name": "os", "value": "linux"}, {"name": "arch", "value": "armv6l"}]',
    '[{"name": "os", "value": "linux"}, {"name": "arch", "value": "armv7l"}]',
    '[{"name": "os", "value": "linux"}, {"name": "arch", "value": "armv7b"}]',
    '[{"name": "os", "value": "linux"}, {"name": "arch", "value": "ppc64le"}]',
    '[{"name": "os", "value": "linux"}, {"name": "arch", "value": "ppc64l"}]',
    '[{"name": "os", "value": "linux"}, {"name": "arch", "value": "ppc64"}]',
    '[{"name": "os", "value": "linux"}, {"name": "arch", "value": "ppc64b"}]',
    '[{"name": "os", "value": "linux"}, {"name": "arch", "value": "ppc64be"}]',
    '[{"name": "os", "value": "linux"}, {"name": "arch", "value": "s390x"}]',
    '[{"name": "os", "value": "linux"}, {"name": "arch", "value": "S390x"}]',
    '[{"name": "os", "value": "freebsd"}, {"name": "arch", "value": "amd64"}]',
    '[{"name": "os", "value": "OS/360"}, {"name": "arch", "value": "S/360"}]',
    '[{"name": "os", "value": "freebsd"}, {"name": "arch", "value": "armv7b"}]',
    '[{"name": "name"}]',
    '[{"name": "os", "value": "linux"}, {"name": "os", "value": "freebsd"}]',
    '[{"name": "arch", "value": "amd64"}, {"name": "os", "value": "freebsd"}, {"name": "arch", "value": "x86_64"}]',
    "[]",
]
OUR_LABELS = [
    [["arch", "anything"]], [["os", "darwin"], ["arch", "x86_64"]], [["os", "darwin"], ["arch", "amd64"]],
    [["os", "freebsd"], ["arch", "arm"]], [["os", "linux"], ["arch", "i386"]], [["os", "plan9"]],
    [["os", ""]], [["os", "Linux"]], [["version", "1.0"], ["name", "x"]], [["a", "1"], ["a", "2"]],
    [["os", "é\n"]], [["arch", "é"], ["os", "linux"]], [["x", ""], ["y", ""], ["os", "linux"]],
]  # fmt: skip
LABEL_MAPS = [
    {"foo": "bar", "bar": "baz", "baz": "foo"}, {"foo": ""}, {"name": "foo"},
    {"os": "linux", "arch": "arm"}, {"version": "1", "os": "darwin", "arch": "i386"}, {},
]  # fmt: skip
GO_ARCH_TUPLES = [
    (goos, goarch, goarm)
    for goos in ("linux", "freebsd", "darwin", "windows")
    for goarch in (
        "amd64",
        "386",
        "arm",
        "arm64",
        "ppc64",
        "ppc64le",
        "s390x",
        "x86_64",
        "i386",
    )
    for goarm in ("", "5", "6", "7")
]

# schema/types/annotations_test.go, then ours (anchors.md 1.7).
ANNOTATIONS = [
    [["foo", "bar"], ["foo", "baz"]], [["created", "garbage"]], [["homepage", "not-A$@#URL"]],
    [["documentation", "ftp://isnotallowed.com"]],
    [["created", "2004-05-14T23:11:14+00:00"], ["documentation", "http://example.com/docs"]],
    [["foo", "bar"], ["homepage", "https://homepage.com"]],
    [["appc.io/executor/supports-systemd-notify", "false"]], [], [["a", "b"]],
    [["foo", "bar"], ["website", "http://example.com/anno"]], [["created", ""]],
    [["homepage", "HTTP://x"]], [["homepage", "https://"]], [["homepage", "//x"]],
    [["homepage", "x"]], [["documentation", "http:opaque"]], [["authors", "anything at all"]],
    [["created", "2015-05-18T13:49:28.351729952-04:00"]], [["created", "2015-05-18 13:49:28Z"]],
]  # fmt: skip

# schema/types/uuid_test.go, then ours (anchors.md 1.9).
UUIDS = [
    "6733C088-A507-4694-AABF-EDBE4FC5266F", "6733C088A5074694AABFEDBE4FC5266F",
    "0aaf0a79-1a39-4d59-abbf-1bebca8209d2", "0aaf0a791a394d59abbf1bebca8209d2", "asdf",
    "0AAF0A79-1A39-4D59-ABBF-1BEBCA8209D2ABC", "", "67-33C088A5074694AABFEDBE4FC5266F",
    "{6733c088-a507-4694-aabf-edbe4fc5266f}", "00000000-0000-0000-0000-000000000000",
    "6733c088-a507-4694-aabf-edbe4fc5266g", "6733c088a5074694aabfedbe4fc5266\u00e9",
    "--6733c088a5074694aabfedbe4fc5266f--", " 6733c088a5074694aabfedbe4fc5266f",
]  # fmt: skip

# schema/types/date_test.go (strings), then ours (anchors.md 1.10).
DATES = [
    "2004-05-14T23:11:14+00:00", "2001-02-03T04:05:06Z", "2014-11-14T17:36:54-08:00",
    "garbage", "1416015188", "Fri Nov 14 17:53:02 PST 2014", "2014-11-1417:36:54",
    "2015-05-18T13:49:28.351729952-04:00", "2015-05-18 13:49:28Z", "2015-05-18t13:49:28Z",
    "2015-05-18T13:49:28z", "2015-05-18T13:49:28", "2015-05-18T13:49:28,5Z",
    "2015-05-18T3:49:28Z", "2015-05-18T13:49:60Z", "2015-02-29T00:00:00Z",
    "2016-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
    "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2015-13-01T00:00:00Z",
    "2015-00-01T00:00:00Z", "2015-01-00T00:00:00Z", "2015-01-01T24:00:00Z",
    "2015-01-01T00:60:00Z", "2015-01-01T00:00:00+25:00", "2015-01-01T00:00:00+99:99",
    "2015-01-01T00:00:00+0100", "2015-01-01T00:00:00+01", "2015-01-01T00:00:00.Z",
    "2015-01-01T00:00:00.1234567891234Z", "", "2015-01-01T00:00:00Z ", " 2015-01-01T00:00:00Z",
    "+2015-01-01T00:00:00Z", "20150-01-01T00:00:00Z", "2015-1-01T00:00:00Z",
]  # fmt: skip

# schema/types/url_test.go (strings), then ours (anchors.md 1.11).
URLS = [
    "http://foo.com", "http://foo.com/huh/what?is=this", "https://example.com/bar",
    "ftp://foo.com", "unix:///hello", "http://yis.com/hello?goodbye=yes", "https://ohai.net",
    "ftp://example.com", "unix://file.net", "not a url", "HTTP://x", "https://", "//x", "x",
    "http:", "http:opaque", "http://[::1]:80/", "http://[::1", "http://x:port/",
    "http://x:80/", "http://user:pass@x/", "http://us er@x/", "http://x/%zz", "http://x/%41",
    "http://x/?%zz", "http://x/#%zz", "http://x/#a", "http://x\x01/", "http://x/#\x01",
    "http://ex ample.com/", "http://%41.com/", "http://%e2%82%ac.com/", "http://x%25/",
    "http://[fe80::1%25en0]/", "http://[fe80::1%25%41]/", "http://[fe80::1%25%2F]/", ":foo",
    "*", "1http://x", "ht~tp://x", "http://é.com/", "", "http://x:/", "http://a@b@c/",
    "http://[::1]x/", "h+ttp://x", "http://x/?", "http://x/??", "http://x?a?",
]  # fmt: skip

# schema/types/resource/quantity_test.go (TestQuantityParse and friends), then ours.
GO_QUANTITIES = [
    "0", "0n", "0u", "0m", "0Ki", "0k", "0Mi", "0M", "0Gi", "0G", "0Ti", "0T", "1n", "1u",
    "1m", "1Ki", "1k", "1Mi", "1M", "1Gi", "1G", "1Ti", "1T", "1Pi", "1P", "1Ei", "1E",
    "1e3", "1e6", "1e9", "1e12", "1e15", "1e18", "0.1m", "0.5m", "5.1m", "5.1k", "5.1M",
    "5.1G", "5.1T", "5.1P", "5.1E", "1000u", "1000m", "1000k", "1000M", "1000G", "1000T",
    "1000P", "1000E", ".1", ".5Mi", ".1Gi", "1.5Ki", "1.5Ti", "1.5P", "12e6", "1024Mi",
    "1024M", "1024G", "1.001", "1.0001", "1.00001", "1.000001", "1.0000001", "1e-3",
    "1E-3", "1e+3", "1E+3", "1e-9", "0.0000000001", "1e-10", "100Mi", "1Mi", "12.34",
    "-12.34", "-1", "1.1", "1.01", "1.001m", "10e2", "1e2", "1e", "1E", "1e+", "1e-",
    "1Ki5", "5e", "1.1.1", "1+1.0", "1m1", "1Gi1", "1i", "1Kib", "1Kb", "1k1", "1ki", "1B",
    "-.1", "-1m", "-1.1", "+1", "+.1", "+1e3", "100K", "", "x", "1..2", " 1", "1 ",
    "9223372036854775807", "9223372036854775808", "92233720368547758070000",
    "8Ei", "8.1Ei", "-8Ei", "7Ei", "1.5Ei", "123456789012345678901234567890",
    "1e100000", "1e-100000", "1e4294967296", "1e4294967297", "007", "+2", "-0", "+", "-",
    ".", "1.", ".e-20", "0.e-20", "0.5Ki", "1.0001Ki", "1023", "1024", "-1024", "1025Ki",
    "1000E", "82000E", "1e2147483647", "1.5e999999999", "100e-11", "1e9999999999999999999",
    ".0001Ki", "0.0000001Ki", "1e-9223372036854775808", "1e-9223372036854775809",
]  # fmt: skip

# discovery/parse_test.go, then ours (anchors.md 1.21).
APP_STRINGS = [
    "example.com/reduce-worker:1.0.0", "example.com/reduce-worker,channel=alpha,label=value",
    "example.com/app:1.2.3,special=!*'();@&+$/?#[],channel=beta", "not an app name",
    "example.com/garbage%8 939", "foo.com/bar,channel=alpha,dog=woof,channel=beta",
    "example.com/app,channel=beta:1.2.3", "example.com/app:3.2.1,channel=beta:1.2.3",
    "example.com/app:3.2.1,version=1.2.3", "example.com/reduce-worker", "example.com/app:",
    "example.com/app,os=plan9", "example.com/app,NAME=x", "example.com/app,a&b=c",
    "example.com/app,a;b=c", "example.com/app,a%2Fb=c", "example.com/app,a%zz=c",
    "example.com/app,a+b=c", "example.com/app,a=b=c", "example.com/app,a=", "example.com/app,a",
    "example.com/app,", ",a=b", ":1.0", "", "example.com/app,name=other", "example.com/app,=x",
    "example.com/app,a&=x", "example.com/app,a&&b=x", "example.com/app,v=Ümlaut ok",
    "example.com/app:1.0,os=linux,arch=amd64",
]  # fmt: skip


def _names(oracle: GoOracle) -> dict[str, object]:
    inputs = GO_IDENTIFIERS + OUR_IDENTIFIERS
    return {
        "source": SOURCE,
        "ac_identifier": [
            {"input": s, **oracle.ask("acidentifier", s)} for s in inputs
        ],
        "ac_name": [{"input": s, **oracle.ask("acname", s)} for s in inputs],
        "sanitize_ac_identifier": [
            {"input": s, **oracle.ask("sanitize_acidentifier", s)}
            for s in GO_SANITIZE + OUR_SANITIZE
        ],
        "sanitize_ac_name": [
            {"input": s, **oracle.ask("sanitize_acname", s)}
            for s in GO_SANITIZE + OUR_SANITIZE
        ],
    }


def _quantity(oracle: GoOracle, text: str) -> dict[str, Any]:
    answer = {"input": text, **oracle.ask("quantity", text)}
    # Go's Value() takes a step per power of ten: ask only for small ones.
    if answer["ok"] and len(text) < 40 and "e" not in text.lower().rstrip("e"):
        values = oracle.ask("quantity_value", text)
        answer.update(value=values["value"], milli=values["milli"])
    return answer


def main() -> None:
    oracle = GoOracle(build_oracle(pathlib.Path("/tmp/appc-values-oracle")))
    files: dict[str, object] = {
        "names.json": _names(oracle),
        "semver.json": {
            "source": SOURCE,
            "parse": [
                {"input": s, **oracle.ask("semver", s)}
                for s in GO_SEMVERS + OUR_SEMVERS
            ],
            "order": [
                {"left": a, "right": b, **oracle.ask("semver_less", a, other=b)}
                for a in SEMVER_ORDER
                for b in SEMVER_ORDER
            ],
        },
        "image_id.json": {
            "source": SOURCE,
            "hash": [{"input": s, **oracle.ask("hash", s)} for s in HASHES],
            "short_hash": [
                {"input": s, **oracle.ask("short_hash", s)} for s in SHORT_HASHES
            ],
        },
        "labels.json": {
            "source": SOURCE,
            "labels": [
                {"input": json.loads(doc), **oracle.ask("labels", raw=json.loads(doc))}
                for doc in GO_LABELS
            ]
            + [
                {
                    "input": [{"name": n, "value": v} for n, v in pairs],
                    **oracle.ask(
                        "labels", raw=[{"name": n, "value": v} for n, v in pairs]
                    ),
                }
                for pairs in OUR_LABELS
            ],
            "from_map": [
                {"input": m, **oracle.ask("labels_from_map", raw=m)} for m in LABEL_MAPS
            ],
            "to_appc_os_arch": [
                {
                    "input": list(t),
                    **oracle.ask("to_appc_os_arch", t[0], other=t[1], extra=t[2]),
                }
                for t in GO_ARCH_TUPLES
            ],
        },
        "common.json": {
            "source": SOURCE,
            "annotations": [
                {
                    "input": [{"name": n, "value": v} for n, v in pairs],
                    **oracle.ask(
                        "annotations", raw=[{"name": n, "value": v} for n, v in pairs]
                    ),
                }
                for pairs in ANNOTATIONS
            ],
            "uuid": [{"input": s, **oracle.ask("uuid", s)} for s in UUIDS],
            "date": [{"input": s, **oracle.ask("date", s)} for s in DATES],
            "url": [{"input": s, **oracle.ask("url", s)} for s in URLS],
        },
        "quantity.json": {
            "source": SOURCE,
            "parse": [_quantity(oracle, s) for s in GO_QUANTITIES],
        },
        "app_string.json": {
            "source": SOURCE,
            "parse": [{"input": s, **oracle.ask("app", s)} for s in APP_STRINGS],
        },
    }
    oracle.close()
    VECTORS.mkdir(exist_ok=True)
    for name, content in files.items():
        text = json.dumps(content, indent=1, ensure_ascii=False, sort_keys=False)
        (VECTORS / name).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
