"""Provider wire formats over an injected ``httpx.AsyncClient``.

Two formats cover the field: OpenAI-compatible chat completions (OpenAI, Azure, vLLM, Ollama,
llama.cpp, LiteLLM) and Anthropic messages. API keys come from the environment (or a
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
from typing import Any
from urllib.parse import urlsplit

import httpx

from db.errors import JudgeboardError
from judges.config import REQUEST_PARAMS, JudgeSpec, canonical_json

ANTHROPIC_VERSION = "2023-06-01"
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


def resolve_api_key(spec: JudgeSpec, secrets: Mapping[str, Any] | None = None) -> str | None:
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
            " (or in .streamlit/secrets.toml for the app), or clear the judge's key variable"
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


def wants_json_mode(spec: JudgeSpec) -> bool:
    """JSON mode when asked for, or by default when the template asks for JSON."""
    explicit = spec.params.get("json_mode")
    if explicit is not None:
        return bool(explicit)
    return spec.provider == "openai" and "json" in (spec.template or "").lower()


def build_request(spec: JudgeSpec, prompt: str, api_key: str | None) -> ProviderRequest:
    """The HTTP request for one judge prompt; ``spec`` must be normalized."""
    params = spec.params
    base = (spec.base_url or "").rstrip("/")
    system = params.get("system")
    extra = {k: params[k] for k in REQUEST_PARAMS if params.get(k) is not None}
    headers = {"content-type": "application/json"}
    if spec.provider == "anthropic":
        url = f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"
        body: dict[str, Any] = {
            "model": spec.model,
            "max_tokens": extra.pop("max_tokens", 1024),
            "messages": [{"role": "user", "content": prompt}],
        }
        if system:
            body["system"] = system
        extra.pop("seed", None)  # not part of the messages API
        if "stop" in extra:
            stop = extra.pop("stop")
            body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        body.update(extra)
        headers["anthropic-version"] = ANTHROPIC_VERSION
        if api_key:
            headers["x-api-key"] = api_key
    else:
        parts = urlsplit(base)
        path = parts.path.rstrip("/") + "/chat/completions"
        query = parts.query
        if params.get("api_version"):
            query = f"{query}&" if query else ""
            query += f"api-version={params['api_version']}"
        url = f"{parts.scheme}://{parts.netloc}{path}" + (f"?{query}" if query else "")
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": prompt})
        body = {"model": spec.model, "messages": messages, **extra}
        if wants_json_mode(spec):
            body["response_format"] = {"type": "json_object"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
            if parts.hostname and parts.hostname.endswith(".azure.com"):
                headers["api-key"] = api_key
    raw = canonical_json(body).encode("utf-8")
    return ProviderRequest(url=url, body=raw, headers=headers, cache_key=request_hash(url, raw))


def parse_reply(provider: str, data: Any) -> ProviderReply:
    """Text and usage tokens from a provider's JSON reply; raises KeyError/TypeError if odd."""
    if not isinstance(data, dict):
        raise TypeError("reply is not a JSON object")
    if provider == "anthropic":
        blocks = data["content"]
        text = "".join(b.get("text", "") for b in blocks if b.get("type", "text") == "text")
        usage = data.get("usage") or {}
        return ProviderReply(
            text, int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0), data
        )
    message = data["choices"][0]["message"]
    text = message.get("content") or ""
    if isinstance(text, list):  # some servers return content parts
        text = "".join(p.get("text", "") for p in text if isinstance(p, dict))
    usage = data.get("usage") or {}
    return ProviderReply(
        str(text),
        int(usage.get("prompt_tokens") or 0),
        int(usage.get("completion_tokens") or 0),
        data,
    )


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


def _fatal(spec: JudgeSpec, resp: httpx.Response, api_key: str | None) -> ProviderError:
    status = resp.status_code
    detail = redact(_error_excerpt(resp), api_key)
    where = f"{spec.provider} at {spec.base_url}"
    if status in (401, 403):
        key = spec.api_key_env or "an API key variable on the judge"
        fix = f"check the key in {key}"
    elif status == 404:
        fix = f"check the base URL and that model '{spec.model}' exists there"
    else:
        fix = "check the judge's model and parameters"
    return ProviderError(f"{where} answered HTTP {status} ({detail}): {fix}.", status)


_URLS: dict[str, httpx.URL] = {}  # parsed once: URL parsing is a visible cost at 600 req/s


async def send(
    client: httpx.AsyncClient,
    spec: JudgeSpec,
    request: ProviderRequest,
    api_key: str | None,
    timeout: float,
) -> ProviderReply:
    """One HTTP attempt. Raises RetryableError or ProviderError; never logs headers."""
    url = _URLS.get(request.url)
    if url is None:
        if len(_URLS) > 256:
            _URLS.clear()
        url = _URLS[request.url] = httpx.URL(request.url)
    try:
        resp = await client.post(
            url, content=request.body, headers=request.headers, timeout=timeout
        )
    except httpx.TimeoutException:
        raise RetryableError(f"timed out after {timeout:g} s") from None
    except httpx.TransportError as exc:
        raise RetryableError(redact(f"connection error: {exc!r}", api_key)) from None
    if resp.status_code in RETRYABLE_STATUS:
        raise RetryableError(f"HTTP {resp.status_code}", retry_after_seconds(resp.headers))
    if resp.status_code >= 400:
        raise _fatal(spec, resp, api_key)
    try:
        return parse_reply(spec.provider, resp.json())
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        excerpt = redact(" ".join(resp.text.split())[:200], api_key)
        raise RetryableError(f"malformed reply body: {excerpt!r}") from None
