"""Run in a subprocess by test_end_to_end.py: the official openai client, instrumented by
opentelemetry-instrumentation-openai-v2 with content capture, exporting its spans over
OTLP/HTTP (gzip) to judgeboard's receiver. Prints what the SDK itself recorded, as JSON.

usage: otel_client.py RECEIVER_URL TOKEN OPENAI_BASE_URL PROMPT CAPTURE

CAPTURE is the content capture mode: SPAN_AND_EVENT (messages in span attributes and in a
log-record event) or EVENT_ONLY (in the log-record event alone). Spans go to /v1/traces, log
records to /v1/logs.
"""

from __future__ import annotations

import json
import os
import sys

os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = sys.argv[5]

import openai  # noqa: E402
from opentelemetry import _logs, trace  # noqa: E402
from opentelemetry.exporter.otlp.proto.http import Compression  # noqa: E402
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter  # noqa: E402
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: E402
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor  # noqa: E402
from opentelemetry.sdk._logs import LoggerProvider  # noqa: E402
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)


def main(receiver: str, token: str, openai_base: str, prompt: str) -> None:
    resource = Resource.create({"service.name": "support-bot", "service.version": "3.1.0"})
    auth = {"Authorization": f"Bearer {token}"}
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(
        endpoint=f"{receiver}/v1/traces", headers=auth, compression=Compression.Gzip
    )
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"{receiver}/v1/logs", headers=auth))
    )
    _logs.set_logger_provider(logger_provider)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    seen = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(seen))
    trace.set_tracer_provider(provider)
    OpenAIInstrumentor().instrument(tracer_provider=provider, logger_provider=logger_provider)

    client = openai.OpenAI(base_url=openai_base, api_key="sk-test")
    reply = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": "Answer in one sentence."},
            {"role": "user", "content": prompt},
        ],
    )
    exported = logger_provider.force_flush(timeout_millis=30_000)
    exported = provider.force_flush(timeout_millis=30_000) and exported
    provider.shutdown()
    logger_provider.shutdown()
    [span] = seen.get_finished_spans()
    print(
        json.dumps(
            {
                "exported": exported,
                "trace_id": f"{span.context.trace_id:032x}",
                "span_id": f"{span.context.span_id:016x}",
                "duration_ms": (span.end_time - span.start_time) / 1e6,
                "span_has_messages": "gen_ai.input.messages" in (span.attributes or {}),
                "reply": reply.choices[0].message.content,
                "input_tokens": reply.usage.prompt_tokens,
                "output_tokens": reply.usage.completion_tokens,
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:5])
