"""Provider wire formats over an injected ``httpx.AsyncClient``, behind one interface.

Two formats cover the field: ``openai`` (OpenAI-compatible chat completions: OpenAI, Azure,
vLLM, Ollama, llama.cpp, LiteLLM) and ``anthropic`` (messages). Each is a module
implementing ``base.WireFormat``; callers use only the functions here.
"""

from __future__ import annotations

from typing import Any

import httpx

from judges.config import REQUEST_PARAMS, JudgeSpec, canonical_json
from judges.providers import anthropic, openai
from judges.providers.base import (
    RETRYABLE_STATUS,
    Endpoint,
    ProviderError,
    ProviderReply,
    ProviderRequest,
    RetryableError,
    WireFormat,
    fatal_error,
    redact,
    request_hash,
    resolve_api_key,
    retry_after_seconds,
)
from judges.providers.openai import wants_json_mode

__all__ = [
    "FORMATS",
    "Endpoint",
    "ProviderError",
    "ProviderReply",
    "ProviderRequest",
    "RetryableError",
    "build_request",
    "build_messages_request",
    "parse_reply",
    "redact",
    "request_hash",
    "resolve_api_key",
    "retry_after_seconds",
    "send",
    "wants_json_mode",
    "wire_format",
]

FORMATS: dict[str, WireFormat] = {anthropic.NAME: anthropic, openai.NAME: openai}  # type: ignore[dict-item]


def wire_format(provider: str) -> WireFormat:
    """The wire format of ``provider``; anything but "anthropic" speaks OpenAI's."""
    return FORMATS.get(provider, openai)  # type: ignore[return-value]


def build_request(spec: JudgeSpec, prompt: str, api_key: str | None) -> ProviderRequest:
    """The HTTP request for one judge prompt; ``spec`` must be normalized."""
    messages = [{"role": "user", "content": prompt}]
    return build_messages_request(
        spec, messages, api_key, spec.params.get("system"), wants_json_mode(spec)
    )


def build_messages_request(
    spec: Endpoint,
    messages: list[dict[str, str]],
    api_key: str | None,
    system: str | None = None,
    json_mode: bool = False,
) -> ProviderRequest:
    """The HTTP request for a conversation (a judge prompt, a candidate's prompt)."""
    params = spec.params
    extra = {k: params[k] for k in REQUEST_PARAMS if params.get(k) is not None}
    wire = wire_format(spec.provider).build(spec, messages, api_key, system, extra, json_mode)
    raw = canonical_json(wire.body).encode("utf-8")
    return ProviderRequest(
        url=wire.url, body=raw, headers=wire.headers, cache_key=request_hash(wire.url, raw)
    )


def parse_reply(provider: str, data: Any) -> ProviderReply:
    """Text and usage tokens from a provider's JSON reply; raises KeyError/TypeError if odd."""
    if not isinstance(data, dict):
        raise TypeError("reply is not a JSON object")
    return wire_format(provider).parse(data)


_URLS: dict[str, httpx.URL] = {}  # parsed once per base URL, not once per request


async def send(
    client: httpx.AsyncClient,
    spec: Endpoint,
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
        raise fatal_error(spec, resp, api_key)
    try:
        return parse_reply(spec.provider, resp.json())
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        excerpt = redact(" ".join(resp.text.split())[:200], api_key)
        raise RetryableError(f"malformed reply body: {excerpt!r}") from None
