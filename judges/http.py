"""An ``httpx.AsyncClient`` that stays cheap at 64+ concurrent requests.

httpx's default transport (httpcore) costs ~2-3 ms of CPU per request at 64 concurrent
connections on one event loop, most of it outside the actual I/O: its pool re-scans every
queued request against every connection on each state change, checks each idle connection
with a ``getpeername`` syscall, and sends headers and body in separate writes. At 640
requests/s that alone saturates a core. ``PooledTransport`` is a small HTTP/1.1 keep-alive
pool over asyncio streams that uses h11 (httpcore's own parser) for the protocol:
O(1) connection checkout, one write per request. It plugs into a normal
``httpx.AsyncClient``, so the runner still only sees an injected client; when proxy
variables are set we fall back to httpx's own transport, which honours them.

Separately, httpcore tries ``import sniffio`` whenever it creates a lock; when sniffio is
not installed that import fails every time (failed imports are not cached). Recording the
absence in ``sys.modules`` makes the failure instant; httpcore then assumes asyncio.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import sys
from collections import defaultdict

import h11
import httpx

try:  # pragma: no cover - depends on the environment
    import sniffio  # noqa: F401
except ImportError:  # pragma: no cover
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
_READ_SIZE = 65536


class _Connection:
    __slots__ = ("reader", "writer", "h11")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.h11 = h11.Connection(our_role=h11.CLIENT)

    def usable(self) -> bool:
        return not self.writer.is_closing() and not self.reader.at_eof()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class PooledTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 keep-alive connections, at most ``max_connections`` in use at once."""

    def __init__(self, max_connections: int = 64, verify: ssl.SSLContext | bool = True) -> None:
        self._max = max(1, max_connections)
        self._idle: dict[tuple[str, str, int], list[_Connection]] = defaultdict(list)
        self._slots: asyncio.Semaphore | None = None
        self._ssl: ssl.SSLContext | None = None
        self._verify = verify

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            if isinstance(self._verify, ssl.SSLContext):
                self._ssl = self._verify
            elif self._verify:
                self._ssl = ssl.create_default_context()
            else:
                ctx = ssl.create_default_context()
                ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
                self._ssl = ctx
        return self._ssl

    async def _connect(self, origin: tuple[str, str, int], timeout: float | None) -> _Connection:
        scheme, host, port = origin
        tls = self._ssl_context() if scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=tls, server_hostname=host if tls else None,
                    limit=_READ_SIZE,
                )  # fmt: skip
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except OSError as exc:
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc}") from None
        return _Connection(reader, writer)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._max)
        timeouts = request.extensions.get("timeout", {})
        url = request.url
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        async with self._slots:
            idle = self._idle[origin]
            conn = None
            while idle:
                candidate = idle.pop()
                if candidate.usable():
                    conn = candidate
                    break
                candidate.close()
            if conn is None:
                conn = await self._connect(origin, timeouts.get("connect"))
            try:
                async with asyncio.timeout(timeouts.get("read")):
                    response = await self._exchange(conn, request)
            except TimeoutError:
                conn.close()
                raise httpx.ReadTimeout("timed out waiting for the response") from None
            except (OSError, h11.ProtocolError, asyncio.IncompleteReadError) as exc:
                conn.close()
                raise httpx.ReadError(f"connection error: {exc!r}") from None
            except BaseException:
                conn.close()
                raise
        return response

    async def _exchange(self, conn: _Connection, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        url = request.url
        target = url.raw_path  # path + query, already encoded
        headers = [(k, v) for k, v in request.headers.raw]
        if not any(k.lower() == b"host" for k, _v in headers):
            headers.insert(0, (b"host", url.netloc))
        if body and not any(k.lower() == b"content-length" for k, _v in headers):
            headers.append((b"content-length", str(len(body)).encode()))
        h = conn.h11
        out = h.send(h11.Request(method=request.method, target=target, headers=headers))
        if body:
            out += h.send(h11.Data(data=body))
        out += h.send(h11.EndOfMessage())
        conn.writer.write(out)  # one write: headers and body leave in one segment
        status, resp_headers, chunks = 0, [], []
        while True:
            event = h.next_event()
            if event is h11.NEED_DATA:
                data = await conn.reader.read(_READ_SIZE)
                if not data and h.their_state is h11.SEND_RESPONSE:
                    raise asyncio.IncompleteReadError(b"", None)
                h.receive_data(data)
            elif isinstance(event, h11.Response):
                status, resp_headers = event.status_code, event.headers
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                break
            elif isinstance(event, h11.InformationalResponse):
                continue
        if h.our_state is h11.DONE and h.their_state is h11.DONE:
            h.start_next_cycle()
            self._idle[
                (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
            ].append(conn)
        else:
            conn.close()
        return httpx.Response(
            status,
            headers=[(bytes(k), bytes(v)) for k, v in resp_headers],
            stream=httpx.ByteStream(b"".join(chunks)),
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()


def make_http_client(max_connections: int, timeout: float = 60.0) -> httpx.AsyncClient:
    """The client the CLI, the app and the benchmark inject into judge runs."""
    if any(os.environ.get(v) for v in _PROXY_VARS):
        limits = httpx.Limits(max_connections=max_connections)
        return httpx.AsyncClient(limits=limits, timeout=timeout)
    return httpx.AsyncClient(
        transport=PooledTransport(max_connections), timeout=timeout, trust_env=False
    )
