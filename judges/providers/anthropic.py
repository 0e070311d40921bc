"""Anthropic messages."""

from __future__ import annotations

from typing import Any

from judges.providers.base import Endpoint, ProviderReply, WireRequest

NAME = "anthropic"
ANTHROPIC_VERSION = "2023-06-01"


def build(
    spec: Endpoint,
    messages: list[dict[str, str]],
    api_key: str | None,
    system: str | None,
    extra: dict[str, Any],
    json_mode: bool,
) -> WireRequest:
    """System turns go to the ``system`` field (the messages API takes no system role)."""
    base = (spec.base_url or "").rstrip("/")
    url = f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"
    systems = [system] if system else []
    systems += [str(m.get("content", "")) for m in messages if m.get("role") == "system"]
    body: dict[str, Any] = {
        "model": spec.model,
        "max_tokens": extra.pop("max_tokens", 1024),
        "messages": [m for m in messages if m.get("role") != "system"],
    }
    if systems:
        body["system"] = "\n\n".join(systems)
    extra.pop("seed", None)  # not part of the messages API
    if "stop" in extra:
        stop = extra.pop("stop")
        body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    body.update(extra)
    headers = {"content-type": "application/json", "anthropic-version": ANTHROPIC_VERSION}
    if api_key:
        headers["x-api-key"] = api_key
    return WireRequest(url, body, headers)


def parse(data: dict[str, Any]) -> ProviderReply:
    blocks = data["content"]
    text = "".join(b.get("text", "") for b in blocks if b.get("type", "text") == "text")
    usage = data.get("usage") or {}
    return ProviderReply(
        text, int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0), data
    )
