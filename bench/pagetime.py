"""Time one bench page in-process: the server's own CPU per request, without gunicorn.

Reads an already seeded bench database (never seeds, migrates or writes), logs in as the
workload's user and GETs the page: prints min / median / max milliseconds and the SQL
queries of one request. For before/after comparisons while changing a page; the load
benchmark itself is `bench/run.py`.

    .venv/bin/python bench/pagetime.py W2 W3 W4 W4D W1 --repeat 30
    .venv/bin/python bench/pagetime.py /work/ --user bench-tech-1-1
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def filing_path(client) -> str:  # noqa: ANN001 - django.test.Client
    """W1's GET: the filing form with step 1 answered, as the load generator asks it."""
    from urllib.parse import urlencode

    from bench.loadgen import parse_forms
    from bench.run import fill_ticket_form

    page = client.get("/tickets/new/", secure=True).content.decode()
    start = [f for f in parse_forms(page) if f.method.lower() == "get" and f.fields]
    if not start or "description" in start[0].fields:
        return "/tickets/new/"
    return "/tickets/new/?" + urlencode(fill_ticket_form(start[0]), doseq=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("pages", nargs="+", help="W1 (the filing form), W2, W3, W4, W4D or a path")
    p.add_argument("--user", default="", help="log in as this user for a path")
    p.add_argument("--repeat", type=int, default=30)
    p.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/posdesk_bench"
        ),
    )
    args = p.parse_args(argv)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings_production",
            "SECRET_KEY": "pagetime-" + "x" * 60,
            "DEBUG": "false",
            "SECURE_SSL_REDIRECT": "false",
            "ALLOWED_HOSTS": "127.0.0.1,testserver",
            "DATABASE_URL": args.database_url,
            "CELERY_BROKER_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
            "SITE_URL": "http://127.0.0.1:8000",
            "CACHE_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "LOG_LEVEL": "WARNING",
            "STATIC_ROOT": str(ROOT / "bench" / ".cache" / "static"),
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    # The production settings serve hashed static names from the manifest.
    call_command("collectstatic", interactive=False, verbosity=0)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.seed import load_meta
    from portal.models import User

    meta = load_meta()
    if meta is None:
        raise SystemExit(f"{args.database_url} holds no bench seed: run `make bench` first")
    tech = meta.busiest_provider_techs[0]
    pages = {
        "W1": (meta.w1_users[0] if meta.w1_users else "", "/tickets/new/"),  # step 2
        "W2": (tech, f"/work/queues/{meta.busiest_queue_id}/"),
        "W3": (tech, f"/work/tickets/{meta.w3_reference}/"),
        "W4": (meta.big_merchant_user, "/tickets/"),
        "W4D": (meta.big_merchant_user, "/devices/"),
    }
    print(f"{meta.tickets:,} tickets; {args.repeat} requests per page, after one warm-up")
    for page in args.pages:
        user, path = pages.get(page.upper(), (args.user, page))
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(User.objects.get(username=user))
        if page.upper() == "W1":
            path = filing_path(client)
        client.get(path, secure=True)
        with CaptureQueriesContext(connection) as queries:
            status = client.get(path, secure=True).status_code
        count = len(queries.captured_queries)  # now: the next request clears the log
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            client.get(path, secure=True)
            times.append((time.perf_counter() - t0) * 1000)
        print(
            f"{page:>4} {path:<40} {status}  min {min(times):6.1f}  "
            f"median {statistics.median(times):6.1f}  max {max(times):6.1f} ms  "
            f"{count} queries"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
