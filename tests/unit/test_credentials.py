"""shipyard.credentials: the credential-in-URI rule as one pure function,
the rule SY321 reports and the commands that write URIs can refuse with."""

from __future__ import annotations

import pytest

from shipyard import credentials
from shipyard.checks import policy_credentials
from shipyard.credentials import text_credential, uri_credential

AWS_KEY = "AKIA" + "ABCDEFGHIJKLMNOP"


@pytest.mark.parametrize(
    ("uri", "what"),
    [
        (f"s3://{AWS_KEY}:wJalrXUtnFEMI@models/iris", "a user:password in the URI"),
        ("https://user:tok3n@example.com/models/iris.tgz", "a user:password in the URI"),
        ("gs://user:pw@bucket/iris", "a user:password in the URI"),
        ("https://" + "t" * 40 + "@github.com/org/repo.git", "a token as the URI's user"),
        ("https://bucket.s3.amazonaws.com/iris.tgz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ab12",
         "a X-Amz-Signature parameter in the URI's query"),
        ("https://storage.googleapis.com/b/iris?X-Goog-Signature=abc", "a X-Goog-Signature parameter in the URI's query"),
        ("https://acct.blob.core.windows.net/models/iris?sv=2022-11-02&sig=abc%3D", "a sv parameter in the URI's query"),
        ("https://models.example.com/iris.tgz?token=abc", "a token parameter in the URI's query"),
        (f"s3://bucket/{AWS_KEY}/iris", "an AWS access key id"),
        ("https://example.com/x?k=ghp_" + "a" * 36, "a GitHub token"),
    ],
)
def test_a_uri_with_a_credential_says_which(uri: str, what: str) -> None:
    assert uri_credential(uri) == what


@pytest.mark.parametrize("uri", [
    "gs://seldon-models/v1.17.0-dev/sklearn/iris", "s3://bucket/iris/1.2.0", "file:///srv/models/iris",
    "pvc://models/iris", "https://github.com/example/shipyard.git", "https://git@github.com/org/repo.git",
    "https://example.com/iris.tgz?version=3&sha256=ab12", "ssh://git@github.com/org/repo.git", "", "not a uri",
])
def test_a_uri_without_a_credential_is_none(uri: str) -> None:
    assert uri_credential(uri) is None


@pytest.mark.parametrize("text", ["http://[::1", "https://[bad/x", "\x00://\x00"])
def test_text_that_is_not_a_uri_is_none_not_an_error(text: str) -> None:
    assert uri_credential(text) is None


def test_shapes_are_found_in_any_text() -> None:
    assert text_credential(f"key={AWS_KEY}") == "an AWS access key id"
    assert text_credential("-----BEGIN RSA PRIVATE KEY-----") == "a private key"
    assert text_credential("nothing here") is None


def test_sy321_applies_this_rule() -> None:
    """One rule: the check's names are the leaf module's functions."""
    assert policy_credentials.credential_in_uri is credentials.uri_credential
    assert policy_credentials.credential_in_text is credentials.text_credential


def test_the_module_is_a_leaf() -> None:
    """Importable by the lifecycle commands without the checks or the loader."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(credentials.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.startswith("shipyard")}, imported
