"""The OTLP/HTTP receiver: a Starlette app that stores GenAI spans as interactions.

``POST /v1/traces`` takes an ExportTraceServiceRequest in protobuf or JSON, optionally
gzip-compressed, with ``Authorization: Bearer TOKEN`` (an ingest token names the stream).
Answers, as the OTLP/HTTP specification asks:

- 200 with an ExportTraceServiceResponse; when spans were dropped (not GenAI calls, or no
  valid ids) it carries ``partial_success`` with their count and why;
- 401 without a valid, unrevoked token, before the body is read; nothing is written;
- 413 for a body over ``max_body_bytes`` (compressed or not);
- 400 for a body that does not decode, or an attribute value over ``max_attribute_bytes``
  or a model / operation / response id longer than its column: the whole request is
  refused and nothing of it is written (values are never cut);
- 415 for another Content-Type or Content-Encoding; 503 when the database fails (the
  exporter retries; the insert ignores spans it already has).

``POST /v1/logs`` takes an ExportLogsServiceRequest the same way (same token, limits and
answers): GenAI events that instrumentations send as log records
(``gen_ai.client.inference.operation.details``, ``gen_ai.user.message``, ``gen_ai.choice``,
...) give their span's interaction its messages, whichever of the two arrives first. Log
records that are not GenAI events are dropped and counted in ``partial_success``.

Decoding, mapping and the database write run in worker threads, so one slow request does not
hold the event loop. ``GET /health`` reports counters since start.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from monitor.otlp import (
    DEFAULT_MAX_ATTRIBUTE_BYTES,
    DEFAULT_MAX_BODY_BYTES,
    JSON,
    PROTOBUF,
    Batch,
    Limits,
    LogBatch,
    PayloadError,
    batch_of,
    decode,
    log_batch_of,
    logs_response_body,
    response_body,
)
from monitor.store import write_interactions, write_span_messages
from monitor.streams import stream_for_token

log = logging.getLogger("judgeboard.monitor")

UNAUTHORIZED = (
    "Missing or invalid ingest token: send 'Authorization: Bearer TOKEN' with a token from"
    " `judgeboard ingest token create --stream NAME` (revoked tokens stop working)."
)
DATABASE_DOWN = (
    "The database did not take this batch; the exporter may retry it. Check that the database"
    " is up and migrated (`judgeboard db upgrade`)."
)


@dataclass
class Counters:
    requests: int = 0
    refused_requests: int = 0
    spans_received: int = 0
    interactions_written: int = 0
    spans_dropped: int = 0
    log_records_dropped: int = 0


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _refuse(counters: Counters, status: int, message: str) -> Response:
    counters.refused_requests += 1
    return PlainTextResponse(message, status_code=status)


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it grows past ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _prepare(
    body: bytes,
    content_type: str,
    encoding: str,
    limits: Limits,
    prices: Mapping[str, tuple[float, float]] | None,
) -> tuple[Batch, int]:
    request = decode(body, content_type, encoding, limits)
    total = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
    return batch_of(request, limits, prices), total


def _prepare_logs(body: bytes, content_type: str, encoding: str, limits: Limits) -> LogBatch:
    return log_batch_of(
        decode(body, content_type, encoding, limits, ExportLogsServiceRequest), limits
    )


def _is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == JSON


def create_app(
    engine: Engine,
    *,
    limits: Limits | None = None,
    prices: Mapping[str, tuple[float, float]] | None = None,
) -> Starlette:
    """The receiver writing into ``engine``; ``prices`` override genai-prices (USD per 1M)."""
    limits = limits or Limits()
    counters = Counters()

    async def accept(request: Request) -> tuple[int, bytes] | Response:
        """(stream id, body) of an authenticated request within limits, else the refusal."""
        counters.requests += 1
        token = _bearer(request)
        try:
            stream_id = await run_in_threadpool(stream_for_token, engine, token) if token else None
        except SQLAlchemyError as exc:
            log.error("checking an ingest token failed: %s", exc)
            return _refuse(counters, 503, DATABASE_DOWN)
        if stream_id is None:
            return _refuse(counters, 401, UNAUTHORIZED)
        body = await _read_body(request, limits.max_body_bytes)
        if body is None:
            return _refuse(
                counters,
                413,
                f"Request body is over the receiver's limit of {limits.max_body_bytes:,} bytes:"
                " send smaller batches (OTEL_BSP_MAX_EXPORT_BATCH_SIZE) or start serve-otlp"
                " with a larger --max-body-bytes.",
            )
        return stream_id, body

    async def run(request: Request, work: Callable[..., Any], *args: Any) -> Any:
        """``work`` in a thread; a PayloadError or any decoding failure becomes the refusal."""
        try:
            return await run_in_threadpool(work, *args)
        except PayloadError as exc:
            return _refuse(counters, exc.status, str(exc))
        except SQLAlchemyError as exc:
            log.error("storing a batch failed: %s", exc)
            return _refuse(counters, 503, DATABASE_DOWN)
        except Exception as exc:  # a payload must never take the receiver down
            log.exception("unreadable OTLP payload on %s", request.url.path)
            return _refuse(counters, 400, f"Payload could not be read as OTLP: {exc}")

    async def traces(request: Request) -> Response:
        accepted = await accept(request)
        if isinstance(accepted, Response):
            return accepted
        stream_id, body = accepted
        content_type = request.headers.get("content-type", "")
        encoding = request.headers.get("content-encoding", "")
        prepared = await run(request, _prepare, body, content_type, encoding, limits, prices)
        if isinstance(prepared, Response):
            return prepared
        batch, total = prepared
        written = await run(request, write_interactions, engine, stream_id, batch.records)
        if isinstance(written, Response):
            return written
        counters.spans_received += total
        counters.interactions_written += written
        counters.spans_dropped += batch.rejected
        as_json = _is_json(content_type)
        return Response(response_body(batch, as_json), media_type=JSON if as_json else PROTOBUF)

    async def logs(request: Request) -> Response:
        accepted = await accept(request)
        if isinstance(accepted, Response):
            return accepted
        stream_id, body = accepted
        content_type = request.headers.get("content-type", "")
        encoding = request.headers.get("content-encoding", "")
        batch = await run(request, _prepare_logs, body, content_type, encoding, limits)
        if isinstance(batch, Response):
            return batch
        written = await run(request, write_span_messages, engine, stream_id, batch.messages)
        if isinstance(written, Response):
            return written
        counters.log_records_dropped += batch.rejected
        as_json = _is_json(content_type)
        return Response(
            logs_response_body(batch, as_json), media_type=JSON if as_json else PROTOBUF
        )

    async def health(_: Request) -> Response:
        body: dict[str, Any] = {"status": "ok", **asdict(counters)}
        return JSONResponse(body)

    return Starlette(
        routes=[
            Route("/v1/traces", traces, methods=["POST"]),
            Route("/v1/logs", logs, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ]
    )


MAX_BODY_ENV = "JUDGEBOARD_OTLP_MAX_BODY_BYTES"
MAX_ATTRIBUTE_ENV = "JUDGEBOARD_OTLP_MAX_ATTRIBUTE_BYTES"


def app_from_env() -> Starlette:
    """The receiver on the settings' database, limits from the environment.

    The factory each uvicorn worker process calls when serve-otlp runs with ``--workers``.
    """
    from db.engine import get_engine
    from judges.pricing import load_prices

    limits = Limits(
        max_body_bytes=int(os.environ.get(MAX_BODY_ENV, DEFAULT_MAX_BODY_BYTES)),
        max_attribute_bytes=int(os.environ.get(MAX_ATTRIBUTE_ENV, DEFAULT_MAX_ATTRIBUTE_BYTES)),
    )
    return create_app(get_engine(), limits=limits, prices=load_prices())
