"""A fake LLM provider: one asyncio HTTP/1.1 server speaking both wire formats.

Run as ``python -m tests.llm_server --port 0``; it prints ``LISTENING <port>`` once ready.
Deliberately small (no framework) so that on two noisy cores it costs far less CPU than the
client under test. It serves:

- ``POST .../chat/completions`` (OpenAI-compatible) and ``POST .../messages`` (Anthropic);
- ``POST /_control/config`` (JSON, merged into the config), ``POST /_control/reset``,
  ``GET /_control/stats``.

Config keys: ``latency_ms``; ``rate_429`` with ``retry_after`` (header value); ``rate_500``;
``rate_timeout`` with ``hang_s``; ``rate_malformed``; ``policy`` ("longer", "first",
"second", "tie", "fixed", "garbage", "rubric"); ``reply_style`` ("json" or "brackets");
``fixed_reply``; ``rules`` ([{"contains": text, "reply": text}], first match wins);
``script`` (actions for the next requests, in order: {"status", "headers", "body",
"delay_ms", "malformed", "reply"}); ``require_key`` (the expected key: a wrong or missing
key gets a 401 that, like some real providers, echoes the key it received).

Stats count requests per path, per status and per sha256 of the request body, and keep a
log of (time, body hash, status) so tests can check retry timing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import random
import re
import signal
import sys
import time
from typing import Any

DEFAULTS: dict[str, Any] = {
    "latency_ms": 0.0,
    "rate_429": 0.0,
    "retry_after": "1",
    "rate_500": 0.0,
    "rate_timeout": 0.0,
    "hang_s": 30.0,
    "rate_malformed": 0.0,
    "policy": "longer",
    "reply_style": "json",
    "fixed_reply": "",
    "rules": [],
    "script": [],
    "require_key": None,
    "seed": None,
}
REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_ANSWER = re.compile(
    r"\[The Start of Assistant (A|B)'s Answer\]\n(.*?)\n\[The End of Assistant \1's Answer\]",
    re.S,
)
_SINGLE = re.compile(
    r"\[The Start of Assistant's Answer\]\n(.*?)\n\[The End of Assistant's Answer\]", re.S
)


class State:
    def __init__(self) -> None:
        self.config: dict[str, Any] = json.loads(json.dumps(DEFAULTS))
        self.rng = random.Random()
        self.reset_stats()

    def reset_stats(self) -> None:
        self.requests = 0
        self.by_path: dict[str, int] = {}
        self.by_status: dict[str, int] = {}
        self.by_body: dict[str, int] = {}
        self.auth_seen: dict[str, int] = {}
        self.log: list[tuple[float, str, int]] = []


STATE = State()


def verdict_text(prompt: str, cfg: dict[str, Any]) -> str:
    for rule in cfg["rules"]:
        if rule.get("contains", "") in prompt:
            return str(rule["reply"])
    policy = cfg["policy"]
    if policy == "fixed":
        return str(cfg["fixed_reply"])
    if policy == "garbage":
        return "I would rather not say which one is better."
    if policy == "rubric" or "[The Start of Assistant's Answer]" in prompt:
        m = _SINGLE.search(prompt)
        score = (len(m.group(1)) % 5) + 1 if m else 3
        if cfg["reply_style"] == "brackets":
            return f"Good enough. Rating: [[{score}]]"
        return json.dumps({"reason": "graded by length", "score": score})
    answers = dict(_ANSWER.findall(prompt))
    if policy == "first":
        winner = "A"
    elif policy == "second":
        winner = "B"
    elif policy == "tie":
        winner = "tie"
    else:
        a, b = len(answers.get("A", "")), len(answers.get("B", ""))
        winner = "A" if a > b else "B" if b > a else "tie"
    if cfg["reply_style"] == "brackets":
        return f"Comparing both answers carefully. [[{'C' if winner == 'tie' else winner}]]"
    return json.dumps({"reason": f"policy {policy}", "verdict": winner})


def reply_body(path: str, request: dict[str, Any], text: str) -> dict[str, Any]:
    messages = request.get("messages") or [{}]
    prompt = str(messages[-1].get("content", ""))
    tin, tout = max(1, len(prompt) // 4), max(1, len(text) // 4)
    if path.endswith("/messages"):
        return {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": request.get("model"),
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": tin, "output_tokens": tout},
        }
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "model": request.get("model"),
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": tin, "completion_tokens": tout, "total_tokens": tin + tout},
    }


def presented_key(headers: dict[str, str]) -> str | None:
    if "x-api-key" in headers:
        return headers["x-api-key"]
    auth = headers.get("authorization", "")
    return auth[7:] if auth.lower().startswith("bearer ") else None


async def handle_api(
    path: str, headers: dict[str, str], body: bytes
) -> tuple[int, dict[str, str], bytes, float]:
    """(status, extra headers, body, delay seconds) for a provider request."""
    s, cfg = STATE, STATE.config
    digest = hashlib.sha256(body).hexdigest()
    s.requests += 1
    s.by_path[path] = s.by_path.get(path, 0) + 1
    s.by_body[digest] = s.by_body.get(digest, 0) + 1
    key = presented_key(headers)
    s.auth_seen["with_key" if key else "without_key"] = (
        s.auth_seen.get("with_key" if key else "without_key", 0) + 1
    )
    delay = float(cfg["latency_ms"]) / 1000.0
    action: dict[str, Any] = cfg["script"].pop(0) if cfg["script"] else {}
    if "delay_ms" in action:
        delay = float(action["delay_ms"]) / 1000.0

    def done(status: int, extra: dict[str, str], payload: bytes, wait: float):
        s.by_status[str(status)] = s.by_status.get(str(status), 0) + 1
        s.log.append((time.time(), digest, status))
        return status, extra, payload, wait

    if cfg["require_key"] is not None and key != cfg["require_key"]:
        msg = {"error": {"message": f"Incorrect API key provided: {key}", "type": "auth"}}
        return done(401, {}, json.dumps(msg).encode(), 0.0)
    if "status" in action and action["status"] != 200:
        payload = action.get("body", json.dumps({"error": {"message": "scripted"}}))
        return done(int(action["status"]), dict(action.get("headers", {})), payload.encode(), delay)
    try:
        request = json.loads(body)
    except ValueError:
        return done(400, {}, b'{"error": {"message": "body is not JSON"}}', 0.0)
    r = s.rng.random()
    if not action:
        edges = (("rate_429", 429), ("rate_500", 500), ("rate_timeout", -1), ("rate_malformed", -2))
        acc = 0.0
        for name, code in edges:
            acc += float(cfg[name])
            if r < acc:
                if code == 429:
                    return done(
                        429,
                        {"retry-after": str(cfg["retry_after"])},
                        b'{"error": {"message": "rate limited"}}',
                        delay,
                    )
                if code == 500:
                    return done(500, {}, b'{"error": {"message": "boom"}}', delay)
                if code == -1:
                    return done(200, {}, b"{}", float(cfg["hang_s"]))
                action = {"malformed": True}
                break
    if action.get("malformed"):
        return done(200, {}, b'{"choices": [{"message": {"content": "trunc', delay)
    messages = request.get("messages") or [{}]
    prompt = str(messages[-1].get("content", ""))
    text = str(action["reply"]) if "reply" in action else verdict_text(prompt, cfg)
    return done(200, {}, json.dumps(reply_body(path, request, text)).encode(), delay)


def handle_control(method: str, path: str, body: bytes) -> tuple[int, bytes]:
    s = STATE
    if path == "/_control/config" and method == "POST":
        update = json.loads(body or b"{}")
        s.config.update(update)
        if update.get("seed") is not None:
            s.rng.seed(update["seed"])
        return 200, json.dumps(s.config).encode()
    if path == "/_control/reset" and method == "POST":
        s.config = json.loads(json.dumps(DEFAULTS))
        s.reset_stats()
        return 200, b"{}"
    if path == "/_control/stats":
        return 200, json.dumps(
            {
                "requests": s.requests,
                "by_path": s.by_path,
                "by_status": s.by_status,
                "by_body": s.by_body,
                "auth_seen": s.auth_seen,
                "log": s.log,
            }
        ).encode()
    return 404, b'{"error": {"message": "no such control path"}}'


async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            length = int(headers.get("content-length", "0"))
            body = await reader.readexactly(length) if length else b""
            path = target.split("?", 1)[0]
            extra: dict[str, str] = {}
            if path.startswith("/_control/"):
                status, payload = handle_control(method, path, body)
            elif method == "POST" and path.endswith(("/chat/completions", "/messages")):
                status, extra, payload, delay = await handle_api(path, headers, body)
                if delay > 0:
                    await asyncio.sleep(delay)
            else:
                status, payload = 404, b'{"error": {"message": "unknown path"}}'
            head_out = [
                f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}",
                "content-type: application/json",
                f"content-length: {len(payload)}",
            ]
            head_out += [f"{k}: {v}" for k, v in extra.items()]
            writer.write(("\r\n".join(head_out) + "\r\n\r\n").encode("latin-1") + payload)
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                return
    except (ConnectionError, asyncio.CancelledError):
        return
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(serve_connection, "127.0.0.1", port, backlog=1024)
    actual = server.sockets[0].getsockname()[1]
    print(f"LISTENING {actual}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    try:
        asyncio.run(main(args.port))
    except KeyboardInterrupt:
        sys.exit(0)
