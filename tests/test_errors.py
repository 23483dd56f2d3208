"""The exception tree: who is a ValueError, and Issue's value semantics."""

from __future__ import annotations

import pytest

from appc import errors


def test_value_errors_are_value_errors_and_signature_errors_are_not() -> None:
    assert issubclass(errors.InvalidManifest, ValueError)
    assert issubclass(errors.InvalidImage, ValueError)
    assert issubclass(errors.InvalidACName, errors.InvalidValue)
    assert not issubclass(errors.SignatureError, ValueError)
    assert not issubclass(errors.BadSignature, ValueError)


def test_every_public_name_is_an_appc_error_or_issue() -> None:
    for name in errors.__all__:
        obj = getattr(errors, name)
        assert obj is errors.Issue or issubclass(obj, errors.AppcError), name


def test_issue_is_an_immutable_hashable_value() -> None:
    issue = errors.Issue("$.name", "name must be set")
    assert issue == errors.Issue("$.name", "name must be set")
    assert issue != errors.Issue("$.name", "other")
    assert issue != ("$.name", "name must be set")
    assert len({issue, errors.Issue("$.name", "name must be set")}) == 1
    assert repr(issue) == "Issue(path='$.name', message='name must be set')"
    with pytest.raises(AttributeError, match="immutable"):
        issue.path = "$.other"
    match issue:
        case errors.Issue(path, message):
            assert (path, message) == ("$.name", "name must be set")


def test_invalid_manifest_lists_every_issue() -> None:
    err = errors.InvalidManifest(
        "invalid ImageManifest",
        [errors.Issue("$.name", "a"), errors.Issue("$.app.user", "b")],
    )
    assert str(err).splitlines() == [
        "invalid ImageManifest",
        "  $.name: a",
        "  $.app.user: b",
    ]
    assert str(errors.InvalidManifest("just a summary")) == "just a summary"


def test_limit_exceeded_names_its_limit() -> None:
    err = errors.LimitExceeded("MAX_MEMBERS", 10, "more than 10 members")
    assert (err.limit, err.value, str(err)) == (
        "MAX_MEMBERS",
        10,
        "more than 10 members",
    )


def test_discovery_error_keeps_attempts() -> None:
    err = errors.DiscoveryError("nothing found", ["a", "b"])
    assert err.attempts == ("a", "b")
