"""Keeping secrets and untrusted server text out of what flexjudge prints, logs and stores.

One module for the whole project, with no dependency beyond the standard library:

* :func:`redact` replaces the given secrets (API keys, passwords) wherever they occur, and also
  values that look like credentials whatever they are: ``Authorization`` header values,
  ``Bearer``/``Basic`` tokens, ``api-key`` style fields and the ``user:pass@`` part of URLs. A
  server that echoes request headers into an error body therefore cannot put the key into a
  verdict, a log line or a store.
* :func:`strip_url_credentials` removes ``user:pass@`` from a URL and masks query values whose
  names say they are secrets (``api_key``, ``token``, ``sig`` ...). Use it before a URL reaches a
  store key, an ``EngineInfo`` or a report.
* :func:`cap` makes server text fit for a one-line error message: whitespace and control
  characters collapsed, at most ``n`` characters, with a note of how much was cut.

Redact first, then cap (:func:`server_text` does both): capping first could cut a secret in
two and leave a prefix that no longer matches.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

#: What a redacted value is replaced with.
MASK = "***"

#: Literal secrets shorter than this are not searched for: they would match inside ordinary
#: words and tell nothing. Credential-shaped values are masked by the patterns below anyway.
MIN_SECRET = 3

# "Authorization: Bearer abc", '"authorization": "Basic abc"', "proxy-authorization=abc".
_AUTH_FIELD = re.compile(
    r"""(?ix)
    (\b(?:proxy-)?authorization\b["']?\s*[:=]\s*["']?)   # the field name and separator
    (?:(bearer|basic|token|digest|apikey)\s+)?            # an optional scheme word
    [^\s"',;&}\]]+                                        # the value
    """
)
# A scheme word followed by a token anywhere else ("... Bearer abc ...").
_SCHEME_TOKEN = re.compile(r"(?i)\b(bearer|basic)\s+([A-Za-z0-9._~+/=:-]{4,})")
# "api_key=abc", '"x-api-key": "abc"', "access_token: abc", "password=abc".
_SECRET_FIELD = re.compile(
    r"""(?ix)
    (\b(?:x-)?(?:api[-_]?key|access[-_]?token|refresh[-_]?token|client[-_]?secret|secret|
        password|passwd|token)\b["']?\s*[:=]\s*["']?)
    [^\s"',;&}\]]+
    """
)
# "scheme://user:pass@host" (and "//user@host") inside free text.
_URL_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/\s@?#\"']+@")
_SECRET_QUERY_WORDS = ("key", "token", "secret", "password", "passwd", "sig", "auth")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\s]+")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every secret, and anything shaped like a credential, replaced by ``***``.

    ``secrets`` are literal values (an API key, a URL password); each is also matched in its
    URL-quoted form and in base64 (how a ``user:pass`` pair travels in a Basic header).
    ``None``, empty strings and secrets shorter than :data:`MIN_SECRET` characters are
    ignored, so ``redact(msg, [os.environ.get(var)])`` is safe.
    """
    for secret in sorted(_expand(secrets), key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _AUTH_FIELD.sub(
        lambda m: m.group(1) + (f"{m.group(2)} " if m.group(2) else "") + MASK, text
    )
    text = _SCHEME_TOKEN.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _SECRET_FIELD.sub(lambda m: m.group(1) + MASK, text)
    return _URL_USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)


def _expand(secrets: Iterable[str | None]) -> set[str]:
    out: set[str] = set()
    for s in secrets:
        if s and len(s) >= MIN_SECRET:
            out.update({s, quote(s, safe=""), unquote(s)})
            out.add(base64.b64encode(s.encode()).decode("ascii"))
    return {s for s in out if len(s) >= MIN_SECRET}


def url_secrets(url: str) -> list[str]:
    """The password and the ``user:password`` pair written into ``url`` (raw and unquoted),
    for :func:`redact`; empty when there are none. A user name alone is not a secret."""
    try:
        parts = urlsplit(url)
        user, password = parts.username, parts.password
    except ValueError:
        return []
    found = [password] if password else []
    if user is not None and password is not None:
        found.append(f"{user}:{password}")
        found.append(f"{unquote(user)}:{unquote(password)}")
    return list(dict.fromkeys(found + [unquote(x) for x in found]))


def strip_url_credentials(url: str) -> str:
    """``url`` without ``user:pass@`` and with secret-looking query values masked.

    >>> strip_url_credentials("https://user:pass@host:8000/v1?api_key=abc&x=1")
    'https://host:8000/v1?api_key=***&x=1'
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - validates the netloc (a bad port or IPv6 literal raises)
    except ValueError:
        return redact(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = parts.query
    pairs = parse_qsl(query, keep_blank_values=True)
    if any(_secret_name(k) for k, _ in pairs):  # else keep the query verbatim (stable keys)
        query = urlencode([(k, MASK if _secret_name(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _secret_name(name: str) -> bool:
    low = name.lower()
    return any(w in low for w in _SECRET_QUERY_WORDS)


def cap(text: str, n: int = 200) -> str:
    """``text`` on one line (runs of whitespace and control characters become one space), cut
    to at most ``n`` characters with a note of how many more there were."""
    flat = _CONTROL.sub(" ", text).strip()
    if len(flat) <= n:
        return flat
    return f"{flat[:n].rstrip()}… [{len(flat) - n} more characters]"


def server_text(text: str, secrets: Iterable[str | None] = (), n: int = 200) -> str:
    """Untrusted text (a server's body, an exception message) made fit for an error message:
    redacted, then capped."""
    return cap(redact(text, secrets), n)
