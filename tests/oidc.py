"""A real OpenID Connect provider on 127.0.0.1 for login tests (oidc-provider-mock).

The provider's authorization form asks for a subject (``sub``); a subject typed there signs
in with the claims ``{"email": sub}`` unless claims were stored for it first with
:meth:`OidcProvider.set_claims`. Streamlit's ``st.login`` (Authlib) talks to it like to any
provider, through its ``/.well-known/openid-configuration``.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.browser import free_port

HOST = "127.0.0.1"


@dataclass(frozen=True)
class OidcProvider:
    url: str

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    def set_claims(self, sub: str, claims: dict[str, Any]) -> None:
        """Store the claims (email, name, email_verified…) a later sign-in as ``sub`` gets."""
        request = urllib.request.Request(
            f"{self.url}/users/{sub}",
            data=json.dumps(claims).encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status in (200, 204), response.status


@contextmanager
def oidc_provider() -> Iterator[OidcProvider]:
    """Serve oidc-provider-mock on a free 127.0.0.1 port in a thread; stop it afterwards."""
    import werkzeug.serving
    from oidc_provider_mock import app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = werkzeug.serving.make_server(HOST, free_port(), app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
    thread.start()
    provider = OidcProvider(f"http://{HOST}:{server.server_port}")
    try:
        with urllib.request.urlopen(provider.metadata_url, timeout=10) as response:
            assert json.load(response)["issuer"].startswith(provider.url)
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def write_auth_secrets(
    path: Path,
    provider: OidcProvider,
    *,
    client_id: str = "judgeboard-test",
    extra: str = "",
) -> Path:
    """A secrets.toml whose ``[auth]`` section points st.login at ``provider``.

    ``{port}`` in redirect_uri is filled in by Streamlit with the app server's port.
    """
    path.write_text(
        "\n".join(
            [
                extra,
                "[auth]",
                'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"',
                f'cookie_secret = "{secrets.token_hex(32)}"',
                f'client_id = "{client_id}"',
                f'client_secret = "{secrets.token_hex(16)}"',
                f'server_metadata_url = "{provider.metadata_url}"',
                "",
            ]
        ),
        encoding="utf-8",
    )
    return path
