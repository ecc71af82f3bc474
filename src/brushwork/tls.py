"""One TLS context a process, for every HTTP client brushwork makes.

httpx builds a fresh context for each client it creates, reading the whole CA bundle (about
40 ms of CPU here), whether or not the client ever speaks TLS. The SDK makes a client per
``inference()`` (one a thread, in a closed-loop load: 16 of them cost three of every hundred
ms of the machine in bench/throughput.py) and per download from another origin; the server, one
per URL input it fetches. A context is safe to share between threads and clients, so it is
built once, the way httpx builds its default (``SSL_CERT_FILE``/``SSL_CERT_DIR`` as at the
first call, else certifi's bundle). A leaf: it imports only httpx.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def context() -> ssl.SSLContext:
    """httpx's default verifying context, made at the first call and shared afterwards."""
    return httpx.create_ssl_context()
