"""Fetching images from real servers on 127.0.0.1 (TLS from trustme), hostile ones included."""

# pyright: reportPrivateUsage=false
# (the Cache-Control parser is tested directly)

from __future__ import annotations

import io
import itertools
import os
import subprocess
import sys

from collections.abc import Callable, Generator
from pathlib import Path

import pytest

from appc.discovery import Insecure, Request, Response, Transport
from appc.errors import (
    ArchiveError,
    BadSignature,
    DiscoveryError,
    FetchError,
    HTTPStatusError,
    ImageMismatch,
    ImageNotFound,
    InsecureRedirect,
    InvalidImage,
    TransportError,
    UnsupportedCompression,
    UntrustedKey,
)
from appc.fetch import (
    MAX_RESUMES,
    PULL_POLICIES,
    FetchResult,
    PullPolicy,
    _max_age,
    classify,
    fetch,
)
from appc.image_id import ImageID
from appc.signing import PublicKey, sign
from appc.store import Store
from appc.testing import MockTransport
from appc.trust import Keystore
from hypothesis import given
from hypothesis import strategies as st

from tests.discovery.images import Built, make_aci
from tests.discovery.repo import (
    ACI_PATH,
    KEY,
    LABELS,
    NAME,
    OTHER_KEY,
    Repo,
    big_image,
    running_repo,
)
from tests.discovery.servers import ServedFile, meta_page, page_server


@pytest.fixture
def repo(tmp_path: Path) -> Generator[Repo]:
    with running_repo(tmp_path) as running:
        yield running


# -- the happy paths ------------------------------------------------------------


def test_fetch_by_name_trusting_keys_from_https(repo: Repo) -> None:
    progress: list[tuple[int, int | None]] = []
    result = repo.fetch(
        trust_keys_from_https=True, progress=lambda d, t: progress.append((d, t))
    )
    assert result.image_id == repo.built.image_id
    assert not result.cached
    assert result.downloaded == len(repo.built.data)
    assert result.signer is not None
    assert result.signer.fingerprint == KEY.fingerprint
    stored = repo.store.get(f"{NAME}:1.0")
    assert stored.id == repo.built.image_id
    assert stored.signer == KEY.fingerprint
    assert stored.source == repo.url
    assert stored.signature_path is not None
    assert progress[-1] == (len(repo.built.data), len(repo.built.data))
    # The key is now trusted for the name (rkt's layout).
    assert repo.keystore.prefix_exists(NAME)
    assert all(r.ok for r in repo.store.verify(keystore=repo.keystore))


def test_second_fetch_costs_one_conditional_request(repo: Repo) -> None:
    repo.trust()
    repo.fetch()
    repo.server.reset()
    again = repo.fetch()
    assert again.cached
    assert again.downloaded == 0
    assert again.image_id == repo.built.image_id
    # Discovery, then one conditional GET of the image and nothing else.
    assert [r.bare_path for r in repo.server.requests] == ["/app", ACI_PATH]
    assert repo.server.requests[1].headers["if-none-match"] == repo.aci.etag
    assert repo.server.body_bytes == _page_bytes(repo)
    # By URL: exactly one request.
    repo.fetch(repo.url)
    repo.server.reset()
    assert repo.fetch(repo.url).cached
    assert [(r.method, r.bare_path) for r in repo.server.requests] == [
        ("GET", ACI_PATH)
    ]
    assert repo.server.body_bytes == 0


def _page_bytes(repo: Repo) -> int:
    # What the discovery page weighs (the only body the second fetch gets).
    return len(
        meta_page(
            (
                "ac-discovery",
                f"127.0.0.1 {repo.server.url}/images/{{name}}-{{version}}-{{os}}-{{arch}}.{{ext}}",
            ),
            ("ac-discovery-pubkeys", f"127.0.0.1 {repo.server.url}/keys/repo.gpg"),
        ).encode()
    )


def test_last_modified_alone_is_enough(repo: Repo) -> None:
    repo.serve(repo.built, etag=False)
    repo.trust()
    repo.fetch(repo.url)
    repo.server.reset()
    assert repo.fetch(repo.url).cached
    assert "if-modified-since" in repo.server.requests[0].headers


def test_fresh_by_max_age_costs_nothing(repo: Repo) -> None:
    repo.serve(repo.built, cache_control="public, max-age=3600")
    repo.trust()
    repo.fetch(repo.url)
    repo.server.reset()
    assert repo.fetch(repo.url).cached
    assert repo.server.requests == []


def test_changed_image_is_downloaded_again(repo: Repo) -> None:
    repo.trust()
    first = repo.fetch(repo.url)
    repo.serve(make_aci(NAME, {**LABELS, "build": "2"}))
    second = repo.fetch(repo.url)
    assert not second.cached
    assert second.image_id != first.image_id
    assert repo.store.get(NAME).id == second.image_id


def test_trust_on_first_use_asks(repo: Repo) -> None:
    seen: list[tuple[str, str, str]] = []

    def accept(key: PublicKey, prefix: str, url: str) -> bool:
        seen.append((key.fingerprint, prefix, url))
        return True

    repo.fetch(accept_key=accept)
    assert seen == [(KEY.fingerprint, NAME, f"{repo.server.url}/keys/repo.gpg")]
    # Known now: not asked again.
    repo.fetch(accept_key=accept)
    assert len(seen) == 1


def test_refused_key_means_untrusted(repo: Repo) -> None:
    with pytest.raises(UntrustedKey):
        repo.fetch(accept_key=lambda key, prefix, url: False)
    assert repo.store.images() == ()
    assert not repo.keystore.prefix_exists(NAME)
    assert list((repo.store.root / "tmp").glob("*.part")) == []


def test_untrusted_key_stops_before_the_download(repo: Repo) -> None:
    repo.serve(big_image())
    progress: list[int] = []
    with pytest.raises(UntrustedKey):
        repo.fetch(progress=lambda done, total: progress.append(done))
    # The signer is known before any image byte is read: none is.
    assert progress == []


def test_keys_are_not_fetched_over_insecure_tls_without_pubkey(repo: Repo) -> None:
    with pytest.raises(UntrustedKey):
        repo.fetch(insecure=Insecure.TLS, trust_keys_from_https=True)
    assert repo.requests_to("/keys/repo.gpg") == []
    # With "pubkey" as well, they are (but never trusted automatically: not verified https).
    with pytest.raises(UntrustedKey):
        repo.fetch(insecure=Insecure.TLS | Insecure.PUBKEY, trust_keys_from_https=True)
    assert repo.requests_to("/keys/repo.gpg") == ["GET"]
    repo.fetch(
        insecure=Insecure.TLS | Insecure.PUBKEY,
        accept_key=lambda key, prefix, url: True,
    )


def test_broken_key_url_is_logged_not_fatal(
    repo: Repo, caplog: pytest.LogCaptureFixture
) -> None:
    repo.server.add_page("/keys/repo.gpg", b"not a key")
    with pytest.raises(UntrustedKey):
        repo.fetch(trust_keys_from_https=True)
    assert "cannot fetch public keys" in caplog.text


def test_no_keys_discovered(repo: Repo, caplog: pytest.LogCaptureFixture) -> None:
    repo.server.add_page(
        "/app",
        meta_page(
            (
                "ac-discovery",
                f"127.0.0.1 {repo.server.url}/images/{{name}}-{{version}}-{{os}}-{{arch}}.{{ext}}",
            )
        ),
    )
    with pytest.raises(UntrustedKey):
        repo.fetch(trust_keys_from_https=True)
    assert "no public keys" in caplog.text


# -- hostile images and signatures ---------------------------------------------------


def test_signature_of_another_file(repo: Repo) -> None:
    repo.trust()
    other = make_aci(NAME, LABELS, files={"other": b"x"})
    repo.server.add_file(
        ACI_PATH + ".asc", sign(io.BytesIO(other.data), KEY.secret).encode()
    )
    with pytest.raises(BadSignature, match="another file"):
        repo.fetch()
    assert repo.store.images() == ()
    assert list((repo.store.root / "tmp").glob("*.part")) == []


def test_manifest_name_differs_from_the_name_asked(repo: Repo) -> None:
    repo.trust(prefix="127.0.0.1")
    repo.serve(make_aci("127.0.0.1/evil", LABELS))
    with pytest.raises(
        ImageMismatch,
        match=r'"127\.0\.0\.1/app" expected but "127\.0\.0\.1/evil" found',
    ):
        repo.fetch()
    assert repo.store.images() == ()


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (
            {"version": "2.0", "os": "linux", "arch": "amd64"},
            'requested value for label "version"',
        ),
        ({"os": "linux", "arch": "amd64"}, 'requested label "version" not provided'),
    ],
)
def test_labels_asked_for_must_match(
    repo: Repo, labels: dict[str, str], message: str
) -> None:
    repo.trust()
    repo.serve(make_aci(NAME, labels))
    with pytest.raises(ImageMismatch, match=message):
        repo.fetch()


def test_image_for_another_platform(repo: Repo) -> None:
    repo.trust()
    repo.serve(make_aci(NAME, {"version": "1.0", "os": "linux", "arch": "aarch64"}))
    # os/arch were not asked for: this machine's were assumed.
    with pytest.raises(ImageMismatch, match="not this machine's"):
        repo.fetch()
    # Without os/arch labels at all: fine.
    repo.serve(make_aci(NAME, {"version": "1.0"}))
    assert repo.fetch().image_id == repo.built.image_id


def test_invalid_archive(repo: Repo) -> None:
    repo.trust()
    broken = Built(repo.built.data[:-100] + bytes(100), repo.built.image_id)
    repo.server.add_file(ACI_PATH, broken.data)
    repo.server.add_file(
        ACI_PATH + ".asc", sign(io.BytesIO(broken.data), KEY.secret).encode()
    )
    # A truncated gzip stream: the inflating worker says so.
    with pytest.raises(ArchiveError, match="truncated gzip stream"):
        repo.fetch()
    assert repo.store.images() == ()
    # A complete stream with a broken archive inside: the archive check says so.
    bad = make_aci(NAME, LABELS, compression="none").data
    bad = bad[:512] + b"x" * 100 + bad[612:]
    repo.server.add_file(ACI_PATH, bad)
    repo.server.add_file(ACI_PATH + ".asc", sign(io.BytesIO(bad), KEY.secret).encode())
    with pytest.raises(InvalidImage):
        repo.fetch()


def test_missing_signature(repo: Repo) -> None:
    repo.trust()
    del repo.server.routes[ACI_PATH + ".asc"]
    with pytest.raises(FetchError, match="no signature at"):
        repo.fetch()
    result = repo.fetch(insecure=Insecure.IMAGE)
    assert result.signer is None
    assert repo.store.get(NAME).signer is None


def test_unchanged_but_no_longer_trusted(repo: Repo) -> None:
    repo.trust()
    repo.fetch(repo.url)
    repo.keystore.remove(KEY.fingerprint)
    with pytest.raises(UntrustedKey, match="unchanged"):
        repo.fetch(repo.url)
    # Fetched without verification, then asked with verification: refused too.
    repo.store.remove(repo.built.image_id)
    repo.fetch(repo.url, insecure=Insecure.IMAGE)
    repo.trust()
    with pytest.raises(UntrustedKey):
        repo.fetch(repo.url)


def test_unchanged_image_must_still_match_the_request(repo: Repo) -> None:
    repo.trust()
    repo.fetch()
    with pytest.raises(ImageMismatch):
        repo.fetch(f"{NAME}:1.0,channel=beta")


# -- URLs and files -------------------------------------------------------------------


def test_fetch_by_url_checks_the_signer_against_the_manifest_name(repo: Repo) -> None:
    repo.trust(prefix="example.com/other")
    with pytest.raises(UntrustedKey, match=f"not trusted for {NAME}"):
        repo.fetch(repo.url)
    repo.trust(OTHER_KEY, prefix="example.com")  # a root-ish unrelated prefix
    repo.trust(prefix=NAME)
    assert repo.fetch(repo.url).image_id == repo.built.image_id


def test_fetch_by_url_with_a_root_key(repo: Repo) -> None:
    repo.keystore.add(PublicKey.from_bytes(KEY.public), root=True)
    assert repo.fetch(repo.url).signer is not None


def test_plain_http_url_needs_insecure_http(repo: Repo) -> None:
    repo.trust()
    with page_server() as plain:
        plain.add_file("/app.aci", repo.built.data)
        plain.add_file(
            "/app.aci.asc", sign(io.BytesIO(repo.built.data), KEY.secret).encode()
        )
        with pytest.raises(InsecureRedirect, match="refusing plain http"):
            repo.fetch(f"{plain.url}/app.aci")
        assert plain.requests == []
        result = repo.fetch(f"{plain.url}/app.aci", insecure=Insecure.HTTP)
        assert result.image_id == repo.built.image_id


def test_redirect_to_http_is_refused(repo: Repo) -> None:
    repo.trust()
    with page_server() as plain:
        plain.add_file("/app.aci", repo.built.data)
        repo.server.add_redirect(ACI_PATH, f"{plain.url}/app.aci")
        with pytest.raises(FetchError, match="refusing the redirect"):
            repo.fetch()
        assert plain.requests == []


def test_credentials_stay_with_their_host(repo: Repo) -> None:
    repo.trust()
    with page_server(repo.ca) as mirror:
        mirror.add_file("/app.aci", repo.built.data)
        repo.server.add_redirect(ACI_PATH, f"https://localhost:{mirror.port}/app.aci")
        secret = {"Authorization": "Bearer s3cret", "Cookie": "s=1"}
        repo.fetch(host_headers={f"127.0.0.1:{repo.server.port}": secret})
        first = next(r for r in repo.server.requests if r.bare_path == ACI_PATH)
        assert first.headers["authorization"] == "Bearer s3cret"
        (landing,) = mirror.requests
        assert "authorization" not in landing.headers
        assert "cookie" not in landing.headers


def test_next_endpoint_when_one_fails(repo: Repo) -> None:
    repo.trust()
    repo.server.add_page(
        "/app",
        meta_page(
            ("ac-discovery", f"127.0.0.1 {repo.server.url}/missing/{{name}}.{{ext}}"),
            (
                "ac-discovery",
                f"127.0.0.1 {repo.server.url}/images/{{name}}-{{version}}-{{os}}-{{arch}}.{{ext}}",
            ),
        ),
    )
    assert repo.fetch().image_id == repo.built.image_id
    del repo.server.routes[ACI_PATH]
    repo.store.remove(repo.built.image_id)
    with pytest.raises(
        FetchError, match=r"no endpoint of 127\.0\.0\.1/app could be fetched"
    ):
        repo.fetch()


def test_discovery_failure(repo: Repo) -> None:
    with pytest.raises(DiscoveryError):
        repo.fetch("127.0.0.1/nothing/here")


def test_fetch_a_file(repo: Repo, tmp_path: Path) -> None:
    repo.trust()
    path = tmp_path / "app.aci"
    path.write_bytes(repo.built.data)
    with pytest.raises(FetchError, match="cannot read the signature"):
        repo.fetch(str(path))
    (tmp_path / "app.aci.asc").write_bytes(
        sign(io.BytesIO(repo.built.data), KEY.secret).encode()
    )
    result = repo.fetch(str(path))
    assert result.image_id == repo.built.image_id
    assert result.source == str(path)
    assert path.exists()
    assert repo.fetch(f"file://{path}").image_id == repo.built.image_id
    unsigned = tmp_path / "other.aci"
    unsigned.write_bytes(make_aci("example.com/x").data)
    assert repo.fetch(str(unsigned), insecure=Insecure.IMAGE).signer is None
    with pytest.raises(FetchError, match="cannot open"):
        repo.fetch(str(tmp_path / "missing.aci"), insecure=Insecure.IMAGE)


def test_fetch_a_bad_file(repo: Repo, tmp_path: Path) -> None:
    path = tmp_path / "bad.aci"
    path.write_bytes(b"\0" * 5000)
    with pytest.raises(UnsupportedCompression):
        repo.fetch(str(path), insecure=Insecure.IMAGE)
    assert list((repo.store.root / "tmp").iterdir()) == []


# -- interrupted downloads -----------------------------------------------------------


def test_cut_halfway_resumes_in_the_same_call(repo: Repo) -> None:
    repo.trust()
    served = repo.serve(big_image())
    size = len(repo.built.data)
    served.cut_at, served.cuts_left = size // 2, 1
    result = repo.fetch()
    assert result.image_id == repo.built.image_id
    gets = [r for r in repo.server.requests if r.bare_path == ACI_PATH]
    assert [r.headers.get("range") for r in gets] == [None, f"bytes={size // 2}-"]
    assert gets[1].headers["if-range"] == served.etag
    # Each byte crossed the wire once.
    assert result.downloaded == size


def test_resume_after_failures_keeps_the_partial_file(repo: Repo) -> None:
    repo.trust()
    served = repo.serve(big_image())
    size = len(repo.built.data)
    # Every answer is cut, resumes included: give up, keeping what arrived.
    cut_everything(served, size // 10)
    with pytest.raises(TransportError, match="broke"):
        repo.fetch(repo.url)
    (partial,) = (repo.store.root / "tmp").glob("*.part")
    kept = partial.stat().st_size
    assert kept == (MAX_RESUMES + 1) * (size // 10)
    served.cut_at = None
    repo.server.reset()
    result = repo.fetch()
    assert result.image_id == repo.built.image_id
    gets = [r for r in repo.server.requests if r.bare_path == ACI_PATH]
    assert gets[0].headers["range"] == f"bytes={kept}-"


def cut_everything(served: ServedFile, at: int) -> None:
    served.cut_at, served.cuts_left = at, 1_000_000
    served.cut_ranges = True


def test_server_without_ranges_starts_over(repo: Repo) -> None:
    repo.trust()
    served = repo.serve(big_image(), ranges=False)
    size = len(repo.built.data)
    served.cut_at, served.cuts_left = size // 2, 1
    result = repo.fetch()
    assert result.image_id == repo.built.image_id
    gets = [r for r in repo.server.requests if r.bare_path == ACI_PATH]
    assert len(gets) == 3  # cut, a resume answered in full (refused), a full restart
    assert result.downloaded > size


def test_wrong_content_length(repo: Repo) -> None:
    repo.trust()
    repo.server.add_lying_length(
        ACI_PATH, repo.built.data, claimed=len(repo.built.data) + 500
    )
    with pytest.raises(TransportError, match="broke"):
        repo.fetch(repo.url)
    # No validator came with it: nothing is kept to resume from.
    assert list((repo.store.root / "tmp").glob("*.part")) == []
    assert repo.store.images() == ()


_FETCHER = """
import sys
from pathlib import Path
from appc.discovery import Urllib3Transport
from appc.fetch import fetch
from appc.store import Store
from appc.trust import Keystore
result = fetch(
    sys.argv[1],
    store=Store(sys.argv[2]),
    keystore=Keystore(system=None, local=None, user=Path(sys.argv[3])),
    transport=Urllib3Transport(ca_certs=sys.argv[4]),
)
print(result.image_id, result.cached)
"""


def test_two_processes_fetch_the_same_image(repo: Repo, tmp_path: Path) -> None:
    repo.trust()
    repo.serve(big_image())
    args = [str(repo.store.root), str(tmp_path / "trust"), str(repo.ca_file)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _FETCHER, repo.url, *args],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0].split() for p in processes]
    assert [p.returncode for p in processes] == [0, 0]
    assert {o[0] for o in outputs} == {repo.built.image_id}
    # One downloaded it; the other waited, then found it unchanged.
    assert sorted(o[1] for o in outputs) == ["False", "True"]
    assert len(repo.store.images()) == 1
    assert all(r.ok for r in repo.store.verify(keystore=repo.keystore))
    full = [
        r
        for r in repo.server.requests
        if r.bare_path == ACI_PATH and "if-none-match" not in r.headers
    ]
    assert len(full) == 1


# -- small pieces ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("example.com/app", "name"),
        ("example.com/app:1.0", "name"),
        ("example.com/app:1.0.aci", "name"),
        ("https://example.com/app.aci", "url"),
        ("HTTP://example.com/app.aci", "url"),
        ("file:///srv/app.aci", "file"),
        ("/srv/app.aci", "file"),
        ("./app", "file"),
        ("app.aci", "file"),
        ("sub/./app", "file"),
    ],
)
def test_classify(text: str, kind: str) -> None:
    assert classify(text)[0] == kind


def test_classify_existing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("image").write_bytes(b"x")
    assert classify("image") == ("file", "image")


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("", None),
        ("public", None),
        ("max-age=60", 60),
        ("public, max-age=3600, must-revalidate", 3600),
        ('max-age="5"', 5),
        ("max-age=0", 0),
        ("max-age=007", None),
        ("max-age=abc", None),
        ("no-cache", 0),
        ("private, no-store, max-age=60", 0),
        ("s-maxage=5", None),
    ],
)
def test_max_age(header: str | None, seconds: int | None) -> None:
    assert _max_age(header) == seconds


# -- odd servers, played by MockTransport -------------------------------------------


@pytest.fixture
def plain_store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


def _mock_fetch(
    store: Store, handler: Callable[[Request], Response], tmp_path: Path
) -> FetchResult:
    return fetch(
        "https://example.com/app.aci",
        store=store,
        keystore=Keystore(system=None, local=None, user=tmp_path / "trust"),
        insecure=Insecure.IMAGE,
        transport=MockTransport(handler),
    )


def test_unexpected_not_modified(plain_store: Store, tmp_path: Path) -> None:
    with pytest.raises(HTTPStatusError, match="unexpected 304"):
        _mock_fetch(plain_store, lambda r: Response(status=304), tmp_path)


def test_bad_status(plain_store: Store, tmp_path: Path) -> None:
    with pytest.raises(HTTPStatusError, match="bad HTTP status code: 500"):
        _mock_fetch(plain_store, lambda r: Response(status=500), tmp_path)


def test_short_body_without_error(plain_store: Store, tmp_path: Path) -> None:
    data = make_aci().data

    def handle(request: Request) -> Response:
        return Response(
            status=200,
            headers={"Content-Length": str(len(data) + 10)},
            content=data,
        )

    with pytest.raises(
        TransportError, match=f"ended after {len(data)} of {len(data) + 10}"
    ):
        _mock_fetch(plain_store, handle, tmp_path)


def test_range_answer_that_does_not_fit(plain_store: Store, tmp_path: Path) -> None:
    built = make_aci()
    answers = iter(
        [
            # A resume whose range starts elsewhere: start over with a full GET.
            Response(
                status=206,
                headers={"Content-Range": "bytes 5-9/100", "ETag": '"e"'},
                content=b"12345",
            ),
            Response(status=200, headers={"ETag": '"e"'}, content=built.data),
        ]
    )
    with plain_store.partial("https://example.com/app.aci") as partial:
        partial.path.write_bytes(built.data[:10])
        partial.save_validators('"e"', None)
    seen: list[Request] = []

    def handle(request: Request) -> Response:
        seen.append(request)
        return next(answers)

    result = _mock_fetch(plain_store, handle, tmp_path)
    assert result.image_id == built.image_id
    assert [r.headers.get("Range") for r in seen] == ["bytes=10-", None]


def test_partial_without_validators_is_dropped(
    plain_store: Store, tmp_path: Path
) -> None:
    built = make_aci()
    with plain_store.partial("https://example.com/app.aci") as partial:
        partial.path.write_bytes(b"left by a crash")
    seen: list[Request] = []

    def handle(request: Request) -> Response:
        seen.append(request)
        return Response(status=200, content=built.data)

    assert _mock_fetch(plain_store, handle, tmp_path).image_id == built.image_id
    assert "Range" not in seen[0].headers


def test_content_range_helpers() -> None:
    from appc.fetch import _content_start, _total

    assert _content_start(Response(status=206, headers={"Content-Range": "junk"})) == -1
    assert _content_start(Response(status=200)) == 0
    assert (
        _total(Response(status=206, headers={"Content-Range": "bytes 1-2/*"})) is None
    )
    assert _total(Response(status=206, headers={"Content-Range": "bytes 1-2/9"})) == 9
    assert _total(Response(status=200, headers={"Content-Length": "x"})) is None


def test_server_that_keeps_changing(repo: Repo) -> None:
    repo.trust()
    served = repo.serve(big_image(), ranges=False)
    served.cut_at, served.cuts_left = len(repo.built.data) // 2, 1000
    with pytest.raises(FetchError, match="kept changing"):
        repo.fetch(repo.url)
    assert list((repo.store.root / "tmp").glob("*.part")) == []


def test_unchanged_image_fetched_without_verification(repo: Repo) -> None:
    repo.serve(repo.built, etag=False)
    first = repo.fetch(repo.url, insecure=Insecure.IMAGE)
    again = repo.fetch(repo.url, insecure=Insecure.IMAGE)
    assert again.cached
    assert again.image_id == first.image_id


def test_progress_failure_stops_a_file_fetch(repo: Repo, tmp_path: Path) -> None:
    path = tmp_path / "app.aci"
    path.write_bytes(big_image().data)

    def fail(done: int, total: int | None) -> None:
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        repo.fetch(str(path), insecure=Insecure.IMAGE, progress=fail)
    assert repo.store.images() == ()
    assert list((repo.store.root / "tmp").iterdir()) == []


def test_defaults_store_keystore_and_transport(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    built = make_aci()
    path = tmp_path / "app.aci"
    path.write_bytes(built.data)
    result = fetch(str(path), insecure=Insecure.IMAGE)
    assert result.image.path.is_relative_to(tmp_path / "data" / "appc")


def test_walkthrough_runs_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    script = Path(__file__).parent.parent / "examples" / "walkthrough.py"
    spec = importlib.util.spec_from_file_location("walkthrough", script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--keep", str(tmp_path / "work")]) == 0
    out = capsys.readouterr().out
    # The second fetch was answered 304 and the image ran.
    assert "GET /images/localhost/hello-1.0.aci -> 304" in out
    assert "Hello from an App Container image!" in out
    store = Store(tmp_path / "work" / "store")
    (image,) = store.images()
    assert str(image.name) == "localhost/hello"
    assert image.signer is not None


@given(st.text(max_size=60))
def test_cache_control_never_raises(header: str) -> None:
    seconds = _max_age(header)
    assert seconds is None or seconds >= 0


@given(st.text(min_size=1, max_size=60).filter(lambda t: "\x00" not in t))
def test_classify_never_raises(text: str) -> None:
    assert classify(text)[0] in {"name", "url", "file"}


def test_large_downloads_are_written_back_as_they_go(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    import appc.fetch

    ranges: list[tuple[int, int]] = []
    synced: list[int] = []
    monkeypatch.setattr(appc.fetch, "_WRITEBACK_EVERY", 1 << 20)
    real_advise, real_fsync = os.posix_fadvise, os.fsync

    def advise(fd: int, offset: int, length: int, advice: int) -> None:
        assert advice == os.POSIX_FADV_DONTNEED
        ranges.append((offset, length))
        real_advise(fd, offset, length, advice)

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "posix_fadvise", advise)
    monkeypatch.setattr(os, "fsync", fsync)
    repo.trust()
    repo.serve(big_image())
    assert repo.fetch().image_id == repo.built.image_id
    # Consecutive ranges from the start, each at least the step, then an fsync.
    assert len(ranges) == len(repo.built.data) >> 20
    assert ranges[0][0] == 0
    assert all(a + n == b for (a, n), (b, _) in itertools.pairwise(ranges))
    assert all(n >= 1 << 20 for _, n in ranges)
    assert synced


def test_writeback_without_fadvise(monkeypatch: pytest.MonkeyPatch) -> None:
    import appc.fetch

    monkeypatch.delattr(os, "posix_fadvise")
    appc.fetch.start_writeback(0, 0, 1)  # nothing to do, nothing raised


# -- pull policies ------------------------------------------------------------------


def _offline() -> MockTransport:
    """A transport that fails the test on any request."""

    def refuse(request: Request) -> Response:
        raise AssertionError(f"no request expected, got {request.url}")

    return MockTransport(refuse)


def _pull(
    repo: Repo,
    image: str = f"{NAME}:1.0",
    *,
    pull_policy: PullPolicy,
    transport: Transport | None = None,
    insecure: Insecure = Insecure.NONE,
    labels: dict[str, str] | None = None,
    trust_keys_from_https: bool = False,
) -> FetchResult:
    return fetch(
        image,
        store=repo.store,
        keystore=repo.keystore,
        transport=transport if transport is not None else repo.transport,
        port=repo.server.port,
        insecure=insecure,
        labels=labels,
        trust_keys_from_https=trust_keys_from_https,
        pull_policy=pull_policy,
    )


def _source(repo: Repo, kind: str) -> str:
    return f"{NAME}:1.0" if kind == "name" else repo.url


@pytest.mark.parametrize("kind", ["name", "url"])
@pytest.mark.parametrize("policy", ["never", "new"])
def test_stored_image_costs_no_request(
    repo: Repo, kind: str, policy: PullPolicy
) -> None:
    repo.trust()
    first = repo.fetch(_source(repo, kind))
    repo.server.reset()
    offline = _offline()
    result = _pull(repo, _source(repo, kind), pull_policy=policy, transport=offline)
    assert result.image_id == first.image_id
    assert result.cached
    assert result.downloaded == 0
    assert result.signer is None
    assert result.source == repo.url
    assert result.image.last_used is not None
    assert offline.requests == []
    # With the real transport too: the server sees nothing.
    _pull(repo, _source(repo, kind), pull_policy=policy)
    assert repo.server.requests == []


@pytest.mark.parametrize("kind", ["name", "url"])
def test_never_with_an_empty_store(repo: Repo, kind: str) -> None:
    repo.trust()
    offline = _offline()
    with pytest.raises(
        ImageNotFound, match="--pull-policy=new or --pull-policy=update"
    ):
        _pull(repo, _source(repo, kind), pull_policy="never", transport=offline)
    with pytest.raises(ImageNotFound):
        _pull(repo, _source(repo, kind), pull_policy="never")
    assert offline.requests == []
    assert repo.server.requests == []
    assert repo.store.images() == ()


def test_never_says_what_was_looked_for(repo: Repo) -> None:
    with pytest.raises(ImageNotFound) as name_error:
        _pull(repo, pull_policy="never", transport=_offline())
    assert str(name_error.value).startswith(
        f"no image {NAME}:1.0 for this machine (arch=amd64, os=linux) in the store ("
    )
    with pytest.raises(ImageNotFound) as url_error:
        _pull(repo, repo.url, pull_policy="never", transport=_offline())
    assert str(url_error.value).startswith(
        f"{repo.url} has not been fetched into the store ("
    )


@pytest.mark.parametrize("kind", ["name", "url"])
def test_new_with_an_empty_store_fetches(repo: Repo, kind: str) -> None:
    repo.trust()
    result = _pull(repo, _source(repo, kind), pull_policy="new")
    assert not result.cached
    assert result.downloaded == len(repo.built.data)
    assert result.signer is not None
    assert repo.requests_to(ACI_PATH) == ["GET"]
    repo.server.reset()
    assert _pull(repo, _source(repo, kind), pull_policy="new").cached
    assert repo.server.requests == []


@pytest.mark.parametrize("kind", ["name", "url"])
def test_update_always_asks(repo: Repo, kind: str) -> None:
    repo.trust()
    first = repo.fetch(_source(repo, kind))
    repo.server.reset()
    result = _pull(repo, _source(repo, kind), pull_policy="update")
    assert result.cached
    assert repo.requests_to(ACI_PATH) == ["GET"]
    assert repo.server.requests[-1].headers["if-none-match"] == repo.aci.etag
    # A changed image: "new" keeps the stored one, "update" downloads it.
    changed = repo.serve(make_aci(NAME, {**LABELS, "build": "2"}))
    assert _pull(repo, _source(repo, kind), pull_policy="new").image_id == (
        first.image_id
    )
    updated = _pull(repo, _source(repo, kind), pull_policy="update")
    assert updated.image_id == repo.built.image_id != first.image_id
    assert updated.downloaded == len(changed.data)


@pytest.mark.parametrize("policy", ["never", "new", "update"])
def test_files_are_imported_under_every_policy(
    repo: Repo, tmp_path: Path, policy: PullPolicy
) -> None:
    repo.trust()
    path = tmp_path / "app.aci"
    path.write_bytes(repo.built.data)
    (tmp_path / "app.aci.asc").write_bytes(
        sign(io.BytesIO(repo.built.data), KEY.secret).encode()
    )
    offline = _offline()
    for image in (str(path), f"file://{path}"):
        result = _pull(repo, image, pull_policy=policy, transport=offline)
        assert result.image_id == repo.built.image_id
        assert not result.cached
        assert result.signer is not None
    assert offline.requests == []


def _stored(
    repo: Repo, labels: dict[str, str], *, signer: str | None = KEY.fingerprint
) -> ImageID:
    built = make_aci(NAME, labels, files={"labels": repr(labels).encode()})
    return repo.store.import_image(io.BytesIO(built.data), signer=signer).id


def test_labels_select_among_stored_versions(repo: Repo) -> None:
    repo.trust()
    v2 = _stored(repo, {**LABELS, "version": "2.0"})
    v1 = _stored(repo, LABELS)
    beta = _stored(repo, {**LABELS, "version": "1.0", "channel": "beta"})
    other_arch = _stored(repo, {**LABELS, "version": "3.0", "arch": "aarch64"})
    no_platform = _stored(repo, {"version": "4.0"})

    def never(image: str, labels: dict[str, str] | None = None) -> ImageID:
        return _pull(
            repo, image, pull_policy="never", transport=_offline(), labels=labels
        ).image_id

    assert never(f"{NAME}:2.0") == v2
    # Among several matches, the newest import wins.
    assert never(f"{NAME}:1.0") == beta
    assert never(f"{NAME}:1.0,channel=beta") == beta
    assert never(f"{NAME}:1.0", {"channel": "beta"}) == beta
    # Reimporting makes an image the newest.
    assert _stored(repo, LABELS) == v1
    assert never(f"{NAME}:1.0") == v1
    # No version asked: any version (not "latest"), the newest import first.
    assert never(NAME) == v1
    # os and arch are this machine's unless asked; an image without them fits.
    assert never(f"{NAME}:4.0") == no_platform
    with pytest.raises(ImageNotFound, match=r"3\.0 for this machine"):
        never(f"{NAME}:3.0")
    assert never(f"{NAME}:3.0,arch=aarch64") == other_arch
    with pytest.raises(ImageNotFound):
        never(f"{NAME}:5.0")
    with pytest.raises(ImageNotFound):
        never(f"{NAME}:1.0,channel=stable")
    assert repo.server.requests == []


def test_stored_image_without_signature_is_not_used(repo: Repo) -> None:
    repo.trust()
    repo.fetch(repo.url, insecure=Insecure.IMAGE)
    assert repo.store.get(NAME).signer is None
    for kind in ("name", "url"):
        with pytest.raises(ImageNotFound, match="stored without a signature check"):
            _pull(repo, _source(repo, kind), pull_policy="never", transport=_offline())
        # Signature checks off: the caller accepts it.
        result = _pull(
            repo,
            _source(repo, kind),
            pull_policy="never",
            transport=_offline(),
            insecure=Insecure.IMAGE,
        )
        assert result.image_id == repo.built.image_id
    # "new" goes to the network, where the unchanged image is refused as "update" does.
    repo.server.reset()
    with pytest.raises(UntrustedKey, match="unchanged"):
        _pull(repo, repo.url, pull_policy="new")
    assert repo.requests_to(ACI_PATH) == ["GET"]


def test_stored_image_whose_signer_is_no_longer_trusted(repo: Repo) -> None:
    repo.trust()
    repo.fetch()
    repo.keystore.remove(KEY.fingerprint)
    for kind in ("name", "url"):
        with pytest.raises(
            ImageNotFound, match=f"signed by {KEY.fingerprint}, not trusted for {NAME}"
        ):
            _pull(repo, _source(repo, kind), pull_policy="never", transport=_offline())
    # "new" fetches: discovery offers the key again, the image is unchanged.
    repo.server.reset()
    result = _pull(repo, pull_policy="new", trust_keys_from_https=True)
    assert result.cached
    assert repo.requests_to("/keys/repo.gpg") == ["GET"]
    assert repo.requests_to(ACI_PATH) == ["GET"]
    # Trusted again: the store answers.
    repo.server.reset()
    assert _pull(repo, pull_policy="new").image_id == repo.built.image_id
    assert repo.server.requests == []


def test_untrusted_newest_import_is_passed_over(repo: Repo) -> None:
    repo.trust()
    trusted = _stored(repo, LABELS)
    _stored(repo, {**LABELS, "build": "2"}, signer=OTHER_KEY.fingerprint)
    result = _pull(repo, NAME, pull_policy="never", transport=_offline())
    assert result.image_id == trusted
    repo.keystore.remove(KEY.fingerprint)
    with pytest.raises(ImageNotFound, match=r"cannot use it: .*; .*") as error:
        _pull(repo, NAME, pull_policy="never", transport=_offline())
    assert OTHER_KEY.fingerprint in str(error.value)


def test_stored_image_without_its_file(repo: Repo) -> None:
    repo.trust()
    repo.fetch()
    repo.store.get(NAME).path.unlink()
    with pytest.raises(ImageNotFound, match="its file is missing"):
        _pull(repo, pull_policy="never", transport=_offline())
    repo.server.reset()
    with pytest.raises(ImageNotFound, match="its file is missing"):
        _pull(repo, repo.url, pull_policy="never", transport=_offline())


def test_unknown_pull_policy(repo: Repo) -> None:
    with pytest.raises(ValueError, match="unknown pull policy 'always'"):
        _pull(repo, pull_policy="always")  # type: ignore[arg-type]
    assert PULL_POLICIES == ("never", "new", "update")


def test_unknown_platform_adds_no_labels(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    import appc.fetch

    monkeypatch.setattr(appc.fetch, "host_os_arch", dict)
    repo.trust()
    elsewhere = _stored(repo, {**LABELS, "arch": "aarch64"})
    result = _pull(repo, pull_policy="never", transport=_offline())
    assert result.image_id == elsewhere
    with pytest.raises(ImageNotFound, match=f"^no image {NAME}:9.0 in the store"):
        _pull(repo, f"{NAME}:9.0", pull_policy="never", transport=_offline())
