"""What a credential looks like: the well-known shapes of keys and tokens,
and the credentials a URI can carry.

A leaf (the standard library only), so one rule serves every place a URI
or a value is judged: the SY32x checks over rendered objects, and the
commands that write a URI into the repository (`register`), which should
refuse the same URIs that `validate` reports.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import parse_qsl, urlsplit

SHAPES: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("an AWS access key id", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("a JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
)
"""(what it is, its pattern): formats that are credentials wherever they appear."""

URI_SECRET_PARAMS: Final = frozenset({
    "x-amz-signature", "x-amz-credential", "x-amz-security-token", "x-goog-signature", "x-goog-credential",
    "sig", "signature", "token", "access_token", "api_key", "apikey", "password", "secret", "sv",
})
"""Query parameters (lower case) that make a URL a signed or token-bearing
one: S3 and GCS presigned URLs, Azure SAS (sig=, sv=), API tokens."""

_USERINFO_SCHEMES: Final = ("s3", "gs", "https", "http")
_TOKEN_USER_LENGTH: Final = 16
"""A user name this long on an http(s) URL is a token (GitHub's
https://<token>@github.com), not a person's login."""


def text_credential(text: str) -> str | None:
    """What kind of credential ``text`` contains by its well-known shape
    ("an AWS access key id", "a GitHub token", ...), or None."""
    for what, pattern in SHAPES:
        if pattern.search(text):
            return what
    return None


def uri_credential(uri: str) -> str | None:
    """What credential ``uri`` carries, or None for a URI without one:

    - "a user:password in the URI" (``s3://KEY:SECRET@bucket``, ``https://user:pw@host``);
    - "a token as the URI's user" (``https://<long token>@github.com/...``);
    - "a <param> parameter in the URI's query" for a signed or token-bearing
      query string (X-Amz-Signature, X-Goog-Signature, sig=, token=, ...);
    - a key by its shape anywhere in the text ("an AWS access key id", ...).

    Text that is not a URI at all (an unbalanced ``[`` in the host) carries
    nothing this can see: None, never an exception."""
    try:
        parts = urlsplit(uri)
        password, username = parts.password, parts.username
    except ValueError:
        return None
    if password or (username and parts.scheme in _USERINFO_SCHEMES and ":" in parts.netloc.split("@")[0]):
        return "a user:password in the URI"
    if username and len(username) >= _TOKEN_USER_LENGTH and parts.scheme in ("https", "http"):
        return "a token as the URI's user"
    for key, _value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() in URI_SECRET_PARAMS:
            return f"a {key} parameter in the URI's query"
    return text_credential(uri)
