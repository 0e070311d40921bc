"""Run in a subprocess by test_end_to_end.py: the official openai client, instrumented by
opentelemetry-instrumentation-openai-v2 with content capture, exporting its spans over
OTLP/HTTP (gzip) to judgeboard's receiver. Prints what the SDK itself recorded, as JSON.

usage: otel_client.py RECEIVER_URL TOKEN OPENAI_BASE_URL PROMPT
"""

from __future__ import annotations

import json
import os
import sys

os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_AND_EVENT"

import openai  # noqa: E402
from opentelemetry import trace  # noqa: E402
from opentelemetry.exporter.otlp.proto.http import Compression  # noqa: E402
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: E402
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)


def main(receiver: str, token: str, openai_base: str, prompt: str) -> None:
    provider = TracerProvider(
        resource=Resource.create({"service.name": "support-bot", "service.version": "3.1.0"})
    )
    exporter = OTLPSpanExporter(
        endpoint=f"{receiver}/v1/traces",
        headers={"Authorization": f"Bearer {token}"},
        compression=Compression.Gzip,
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    seen = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(seen))
    trace.set_tracer_provider(provider)
    OpenAIInstrumentor().instrument(tracer_provider=provider)

    client = openai.OpenAI(base_url=openai_base, api_key="sk-test")
    reply = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": "Answer in one sentence."},
            {"role": "user", "content": prompt},
        ],
    )
    exported = provider.force_flush(timeout_millis=30_000)
    provider.shutdown()
    [span] = seen.get_finished_spans()
    print(
        json.dumps(
            {
                "exported": exported,
                "trace_id": f"{span.context.trace_id:032x}",
                "span_id": f"{span.context.span_id:016x}",
                "duration_ms": (span.end_time - span.start_time) / 1e6,
                "reply": reply.choices[0].message.content,
                "input_tokens": reply.usage.prompt_tokens,
                "output_tokens": reply.usage.completion_tokens,
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:5])
