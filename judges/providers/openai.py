"""OpenAI-compatible chat completions (OpenAI, Azure, vLLM, Ollama, llama.cpp, LiteLLM)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from judges.config import JudgeSpec
from judges.providers.base import Endpoint, ProviderReply, WireRequest

NAME = "openai"


def wants_json_mode(spec: JudgeSpec) -> bool:
    """JSON mode when asked for, or by default when the template asks for JSON."""
    explicit = spec.params.get("json_mode")
    if explicit is not None:
        return bool(explicit)
    return spec.provider == NAME and "json" in (spec.template or "").lower()


def build(
    spec: Endpoint,
    messages: list[dict[str, str]],
    api_key: str | None,
    system: str | None,
    extra: dict[str, Any],
    json_mode: bool,
) -> WireRequest:
    params = spec.params
    parts = urlsplit((spec.base_url or "").rstrip("/"))
    path = parts.path.rstrip("/") + "/chat/completions"
    query = parts.query
    if params.get("api_version"):
        query = f"{query}&" if query else ""
        query += f"api-version={params['api_version']}"
    url = f"{parts.scheme}://{parts.netloc}{path}" + (f"?{query}" if query else "")
    sent = [{"role": "system", "content": system}] if system else []
    sent += messages
    body: dict[str, Any] = {"model": spec.model, "messages": sent, **extra}
    if json_mode:
        body["response_format"] = {"type": "json_object"}
    headers = {"content-type": "application/json"}
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
        if parts.hostname and parts.hostname.endswith(".azure.com"):
            headers["api-key"] = api_key
    return WireRequest(url, body, headers)


def parse(data: dict[str, Any]) -> ProviderReply:
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
