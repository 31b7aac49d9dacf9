"""Health check of the `web` container: /readyz answers 200 (the database, the broker
and the media storage each answered within READINESS_TIMEOUT_SECONDS; ops.health).

Production settings redirect plain HTTP to HTTPS and accept only ALLOWED_HOSTS,
so the probe says it came through the TLS proxy (X-Forwarded-Proto, trusted via
SECURE_PROXY_SSL_HEADER) and uses the first allowed host name. Only the standard
library: it runs inside the image with no extra packages.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def probe_host() -> str:
    for host in os.environ.get("ALLOWED_HOSTS", "").split(","):
        host = host.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def main() -> int:
    port = os.environ.get("PORT", "8000")
    request = urllib.request.Request(  # noqa: S310 (a fixed http URL on the loopback)
        f"http://127.0.0.1:{port}/readyz",
        headers={"Host": probe_host(), "X-Forwarded-Proto": "https"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except urllib.error.HTTPError as error:
        # 503: the body says which check failed, for `docker inspect`.
        body = error.read(2000).decode(errors="replace")
        print(f"not ready: {error.code} {body}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
