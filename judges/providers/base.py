"""The one interface every wire format implements, and what the formats share.

A wire format is a module with ``NAME``, ``build(spec, messages, api_key, system, extra,
json_mode)`` returning a ``WireRequest`` and ``parse(data)`` returning a ``ProviderReply``
(raising KeyError/TypeError on an odd body). ``spec`` is any ``Endpoint``: a judge's
``JudgeSpec`` or a candidate's ``CandidateSpec``. API keys come from the environment (or a
``secrets`` mapping, e.g. Streamlit's st.secrets) at request time; they go into request
headers only, never into the request hash, the database, logs or error messages.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from db.errors import JudgeboardError

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})


class ProviderError(JudgeboardError):
    """A reply that retrying will not fix (bad key, unknown model, bad request)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RetryableError(Exception):
    """A 429, a 5xx, a timeout, a dropped connection or a malformed body: try again."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class ProviderRequest:
    url: str
    body: bytes
    headers: dict[str, str] = field(repr=False)
    cache_key: str = ""


@dataclass(frozen=True)
class ProviderReply:
    text: str
    tokens_in: int
    tokens_out: int
    data: dict[str, Any]


@dataclass(frozen=True)
class WireRequest:
    """What a wire format builds: the URL, the JSON body (not yet encoded) and headers."""

    url: str
    body: dict[str, Any]
    headers: dict[str, str] = field(repr=False)


class Endpoint(Protocol):
    """Where and how a config calls its model: what judges and candidates share."""

    @property
    def provider(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def base_url(self) -> str | None: ...
    @property
    def api_key_env(self) -> str | None: ...
    @property
    def params(self) -> dict[str, Any]: ...


class WireFormat(Protocol):
    NAME: str

    def build(
        self,
        spec: Endpoint,
        messages: list[dict[str, str]],
        api_key: str | None,
        system: str | None,
        extra: dict[str, Any],
        json_mode: bool,
    ) -> WireRequest: ...

    def parse(self, data: dict[str, Any]) -> ProviderReply: ...


def resolve_api_key(spec: Endpoint, secrets: Mapping[str, Any] | None = None) -> str | None:
    """The key named by ``spec.api_key_env``: environment first, then ``secrets``."""
    name = spec.api_key_env
    if not name:
        return None
    value = os.environ.get(name)
    if not value and secrets is not None:
        try:
            value = secrets.get(name)
        except Exception:  # st.secrets raises when no secrets file exists
            value = None
    if not value:
        raise ProviderError(
            f"No API key for provider '{spec.provider}': set {name} in the environment"
            " (or in .streamlit/secrets.toml for the app), or clear the config's key variable"
            " for a local server that needs none."
        )
    return str(value)


def redact(text: str, *secrets: str | None) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text


def request_hash(url: str, body: bytes) -> str:
    """sha256 of the exact request (URL without query, body); headers and keys excluded."""
    parts = urlsplit(url)
    h = hashlib.sha256()
    h.update(f"{parts.netloc}{parts.path}".encode())
    h.update(b"\n")
    h.update(body)
    return h.hexdigest()


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """Seconds asked for by ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _error_excerpt(resp: httpx.Response) -> str:
    try:
        data = resp.json()
        err = data.get("error", data) if isinstance(data, dict) else data
        msg = err.get("message", err) if isinstance(err, dict) else err
        text = msg if isinstance(msg, str) else json.dumps(msg)
    except ValueError:
        text = resp.text
    return " ".join(text.split())[:300]


def fatal_error(spec: Endpoint, resp: httpx.Response, api_key: str | None) -> ProviderError:
    status = resp.status_code
    detail = redact(_error_excerpt(resp), api_key)
    where = f"{spec.provider} at {spec.base_url}"
    if status in (401, 403):
        key = spec.api_key_env or "an API key variable on the config"
        fix = f"check the key in {key}"
    elif status == 404:
        fix = f"check the base URL and that model '{spec.model}' exists there"
    else:
        fix = "check the config's model and parameters"
    return ProviderError(f"{where} answered HTTP {status} ({detail}): {fix}.", status)
