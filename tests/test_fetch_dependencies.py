"""Fetching an image's dependencies (rkt's WithDeps), from a real server on 127.0.0.1.

Every image here is discovered on the repository's TLS server by its name
(``127.0.0.1/<path>``), signed, and checked like the image asked for; the
dependency graph is walked depth first in declaration order, each image
fetched once, with cycles and oversized graphs refused.
"""

# pyright: reportPrivateUsage=false
# (the download bound is tested on the fetcher directly)

from __future__ import annotations

import io

from collections.abc import Generator, Mapping
from pathlib import Path

import pytest

from appc import fetch as fetch_module
from appc.discovery import Insecure, Request, Response
from appc.errors import (
    AmbiguousImage,
    DependencyError,
    ImageMismatch,
    ImageNotFound,
    UntrustedKey,
)
from appc.fetch import FetchResult, PullPolicy, _client, _Fetcher, fetch
from appc.signing import sign
from appc.store import Store, StoredImage
from appc.testing import MockTransport
from appc.testing.keys import ThrowawayKey

from tests.discovery.images import Built, make_aci
from tests.discovery.repo import KEY, LABELS, NAME, OTHER_KEY, Repo, running_repo
from tests.discovery.servers import meta_page


@pytest.fixture
def repo(tmp_path: Path) -> Generator[Repo]:
    with running_repo(tmp_path) as running:
        running.trust(prefix="127.0.0.1")  # every image of this server
        yield running


def _publish(
    repo: Repo,
    path: str,
    *,
    depends_on: tuple[Mapping[str, object], ...] = (),
    key: ThrowawayKey = KEY,
    content: bytes = b"",
) -> Built:
    """Serve the image ``127.0.0.1/<path>``, version 1.0, with its discovery page."""
    name = f"127.0.0.1/{path}"
    built = make_aci(
        name,
        LABELS,
        files={path: content or name.encode()},
        dependencies=depends_on,
    )
    server = repo.server
    server.add_page(
        f"/{path}",
        meta_page(
            (
                "ac-discovery",
                f"127.0.0.1 {server.url}/images/{{name}}-{{version}}-{{os}}-{{arch}}.{{ext}}",
            ),
        ),
    )
    aci_path = f"/images/{name}-1.0-linux-amd64.aci"
    server.add_file(aci_path, built.data)
    server.add_file(
        aci_path + ".asc", sign(io.BytesIO(built.data), key.secret).encode()
    )
    return built


def _on(path: str, **fields: object) -> dict[str, object]:
    """A dependency declaration on ``127.0.0.1/<path>`` version 1.0."""
    return {
        "imageName": f"127.0.0.1/{path}",
        "labels": [{"name": "version", "value": "1.0"}],
        **fields,
    }


def _app(repo: Repo, *depends_on: Mapping[str, object]) -> Built:
    built = make_aci(NAME, LABELS, files={"app": b"app"}, dependencies=depends_on)
    repo.serve(built)
    return built


def _fetch(
    repo: Repo, *, dependencies: bool = True, pull_policy: PullPolicy = "update"
) -> FetchResult:
    return fetch(
        f"{NAME}:1.0",
        store=repo.store,
        keystore=repo.keystore,
        transport=repo.transport,
        port=repo.server.port,
        dependencies=dependencies,
        pull_policy=pull_policy,
    )


def test_dependencies_are_fetched_depth_first_and_verified(repo: Repo) -> None:
    root = _publish(repo, "root")
    base = _publish(repo, "base", depends_on=(_on("root"),))
    tools = _publish(repo, "tools")
    app = _app(repo, _on("base"), _on("tools"))
    result = _fetch(repo)
    assert result.image_id == app.image_id
    assert [d.image_id for d in result.dependencies] == [
        base.image_id,
        root.image_id,
        tools.image_id,
    ]
    for dependency in result.dependencies:
        assert dependency.signer is not None
        assert dependency.signer.fingerprint == KEY.fingerprint
        assert repo.store.get(dependency.image_id).signer == KEY.fingerprint
    assert repo.store.get("127.0.0.1/root:1.0").id == root.image_id


def test_a_shared_dependency_is_fetched_once(repo: Repo) -> None:
    shared = _publish(repo, "shared")
    left = _publish(repo, "left", depends_on=(_on("shared"),))
    right = _publish(repo, "right", depends_on=(_on("shared"),))
    _app(repo, _on("left"), _on("right"))
    result = _fetch(repo)
    assert [d.image_id for d in result.dependencies] == [
        left.image_id,
        shared.image_id,
        right.image_id,
    ]
    shared_aci = "/images/127.0.0.1/shared-1.0-linux-amd64.aci"
    assert repo.requests_to(shared_aci) == ["GET"]


def test_a_cycle_is_refused(repo: Repo) -> None:
    # app -> base -> app: rkt and acirenderer loop forever on this.
    _publish(
        repo,
        "base",
        depends_on=(
            {"imageName": NAME, "labels": [{"name": "version", "value": "1.0"}]},
        ),
    )
    _app(repo, _on("base"))
    with pytest.raises(DependencyError, match="dependency cycle: ") as caught:
        _fetch(repo)
    assert str(caught.value) == (
        "dependency cycle: 127.0.0.1/app:1.0,arch=amd64,os=linux -> "
        "127.0.0.1/base:1.0,arch=amd64,os=linux -> 127.0.0.1/app:1.0,arch=amd64,os=linux"
    )


def test_a_self_dependency_is_a_cycle(repo: Repo) -> None:
    _publish(repo, "base", depends_on=(_on("base"),))
    _app(repo, _on("base"))
    with pytest.raises(DependencyError, match=r"base.* -> 127\.0\.0\.1/base"):
        _fetch(repo)


def test_too_many_dependencies(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    _publish(repo, "one")
    _publish(repo, "two")
    _app(repo, _on("one"), _on("two"))
    monkeypatch.setattr(fetch_module, "MAX_DEPENDENCIES", 1)
    with pytest.raises(
        DependencyError, match=r"more than 1 images \(MAX_DEPENDENCIES\)"
    ):
        _fetch(repo)
    monkeypatch.setattr(fetch_module, "MAX_DEPENDENCIES", 2)
    assert len(_fetch(repo).dependencies) == 2


def test_declared_image_id_must_match(repo: Repo) -> None:
    other = make_aci("127.0.0.1/elsewhere", LABELS)
    _publish(repo, "base")
    _app(repo, _on("base", imageID=str(other.image_id)))
    with pytest.raises(ImageMismatch, match=f"not {other.image_id} as declared"):
        _fetch(repo)


def test_declared_image_id_and_size_that_match(repo: Repo) -> None:
    base = _publish(repo, "base")
    _app(repo, _on("base", imageID=str(base.image_id), size=len(base.data)))
    (fetched,) = _fetch(repo).dependencies
    assert fetched.image_id == base.image_id
    # A prefix of the ID, as Go accepts in manifests, is matched as a prefix.
    _app(repo, _on("base", imageID=str(base.image_id)[:30]))
    assert _fetch(repo).dependencies[0].image_id == base.image_id


def test_declared_size_must_match(repo: Repo) -> None:
    base = _publish(repo, "base")
    _app(repo, _on("base", size=len(base.data) + 1))
    with pytest.raises(
        ImageMismatch, match=f"has {len(base.data)} bytes, not {len(base.data) + 1}"
    ):
        _fetch(repo)


def test_a_stored_image_id_costs_no_request(repo: Repo) -> None:
    base = _publish(repo, "base", content=b"stored before")
    _app(repo)
    _fetch(repo)  # the app alone
    fetch(
        "127.0.0.1/base:1.0",
        store=repo.store,
        keystore=repo.keystore,
        transport=repo.transport,
        port=repo.server.port,
    )
    _app(repo, _on("base", imageID=str(base.image_id)))
    repo.server.reset()
    (fetched,) = _fetch(repo).dependencies
    assert fetched.cached
    assert fetched.downloaded == 0
    assert fetched.image_id == base.image_id
    assert not [r for r in repo.server.requests if "base" in r.bare_path]


def test_without_dependencies(repo: Repo) -> None:
    _publish(repo, "base")
    _app(repo, _on("base"))
    assert _fetch(repo, dependencies=False).dependencies == ()
    assert not [r for r in repo.server.requests if "base" in r.bare_path]


def test_an_untrusted_dependency_is_refused(repo: Repo) -> None:
    _publish(repo, "base", key=OTHER_KEY)
    _app(repo, _on("base"))
    with pytest.raises(UntrustedKey):
        _fetch(repo)


def test_pull_policy_applies_to_dependencies(repo: Repo) -> None:
    base = _publish(repo, "base")
    _app(repo, _on("base"))
    _fetch(repo, dependencies=False)
    # The app is stored, its dependency is not: "never" makes no request.
    repo.server.reset()
    with pytest.raises(ImageNotFound, match=r"no image 127\.0\.0\.1/base:1\.0"):
        _fetch(repo, pull_policy="never")
    assert repo.server.requests == []
    # "new" fetches what is missing; then "never" finds everything.
    assert _fetch(repo, pull_policy="new").dependencies[0].image_id == base.image_id
    repo.server.reset()
    again = _fetch(repo, pull_policy="never")
    assert again.cached
    assert [d.cached for d in again.dependencies] == [True]
    assert repo.server.requests == []


def test_a_stored_image_id_without_a_trusted_signer_is_fetched_again(
    repo: Repo,
) -> None:
    base = _publish(repo, "base")
    fetch(
        "127.0.0.1/base:1.0",
        store=repo.store,
        keystore=repo.keystore,
        transport=repo.transport,
        port=repo.server.port,
        insecure=Insecure.IMAGE,  # stored without a signature check
    )
    assert repo.store.get(base.image_id).signer is None
    _app(repo, _on("base", imageID=str(base.image_id)))
    repo.server.reset()
    # Not taken from the store by its ID: asked of the network, which says
    # it is unchanged, and then fetch's rule for such a stored copy applies.
    with pytest.raises(UntrustedKey, match="remove it"):
        _fetch(repo)
    assert [r for r in repo.server.requests if "base" in r.bare_path]


def test_an_ambiguous_image_id_prefix_is_fetched(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = _publish(repo, "base")
    _app(repo, _on("base", imageID=str(base.image_id)[:12]))
    real_get = Store.get

    def get(store: Store, ref: str) -> StoredImage:
        if ref == str(base.image_id)[:12]:
            raise AmbiguousImage(f"{ref} matches several images")
        return real_get(store, ref)

    monkeypatch.setattr(Store, "get", get)
    (fetched,) = _fetch(repo).dependencies
    assert fetched.image_id == base.image_id
    assert not fetched.cached


def test_a_larger_image_than_declared_is_not_downloaded(repo: Repo) -> None:
    # The spec's "endless data" rule: the declared size bounds the download.
    base = _publish(repo, "base")
    _app(repo, _on("base", size=len(base.data) - 1))
    with pytest.raises(ImageMismatch, match="the server announces"):
        _fetch(repo)
    assert list(repo.store.images("127.0.0.1/base")) == []


def test_the_declared_size_bounds_a_body_of_unknown_length(
    repo: Repo, tmp_path: Path
) -> None:
    data = make_aci("127.0.0.1/base", LABELS, files={"blob": bytes(5000)}).data

    def endless(request: Request) -> Response:
        # No Content-Length: only the bytes themselves can tell.
        return Response(status=200, content=data)

    store = Store(tmp_path / "other-store")
    with (
        _client(MockTransport(endless), Insecure.IMAGE, None) as client,
        pytest.raises(ImageMismatch, match="declares 100 bytes, but it sends more"),
    ):
        _Fetcher(
            store=store,
            keystore=repo.keystore,
            client=client,
            insecure=Insecure.IMAGE,
            progress=None,
        ).image_from_url(
            "https://example.com/base.aci",
            "https://example.com/base.aci.asc",
            name=None,
            labels={},
            defaults={},
            max_size=100,
        )
    assert list(store.images()) == []
