"""One HTTP client for the tests' own requests to the emulator and the review server.

``httpx.get()`` and friends build a client, and with it an SSL context that loads the CA bundle, on every
call (~50 ms each; 190 calls in the suite): this one is built once per worker.
"""

from __future__ import annotations

import httpx

WEB = httpx.Client()
