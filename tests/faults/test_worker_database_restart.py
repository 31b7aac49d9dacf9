"""A restarted PostgreSQL must not stop a Celery worker from routing.

The worker keeps its database connection between tasks (DB_CONN_MAX_AGE, see
portal/celery.py), as the web does between requests; after a restart that connection
is dead. The health check before the next task's first query reconnects, so the next
ticket is routed at the first attempt.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from tests.faults.services import CeleryProcess, PrivateRedis, django_env, manage, private_postgres
from tests.waiting import wait_until

pytestmark = pytest.mark.faults

# Each run is a new process (factory sequences start again): reuse the first terminal.
FILE_ONE = (
    "from devices.models import Device; from tests.factories import TicketFactory; "
    "from tickets.tasks import route_ticket; device = Device.objects.first(); "
    "t = TicketFactory(device=device) if device else TicketFactory(); "
    "route_ticket.delay(t.pk); print(t.pk)"
)


def _file_one(env: dict[str, str]) -> int:
    """A ticket in the private database, its routing task on the private Redis."""
    return int(manage("shell", "-c", FILE_ONE, env=env).strip().splitlines()[-1])


def _routed_once(url: str, ticket_id: int) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            status = conn.execute(
                "SELECT status FROM tickets_ticket WHERE id = %s", [ticket_id]
            ).fetchone()[0]
            events = conn.execute(
                "SELECT count(*) FROM tickets_ticketevent WHERE ticket_id = %s AND kind = 'routed'",
                [ticket_id],
            ).fetchone()[0]
    except psycopg.OperationalError:
        return False
    return status == "queued" and events == 1


def test_a_worker_routes_the_next_ticket_after_a_database_restart(
    tmp_path: Path, private_redis: PrivateRedis
) -> None:
    with private_postgres() as cluster:
        cluster.create_database("posdesk")
        url = cluster.url("posdesk")
        env = django_env(
            DJANGO_SETTINGS_MODULE="portal.settings",
            DATABASE_URL=url,
            CELERY_BROKER_URL=private_redis.url,
            MEDIA_ROOT=str(tmp_path / "media"),
        )
        manage("migrate", "--noinput", env=env)
        worker = CeleryProcess(
            "worker",
            broker_url=private_redis.url,
            database_url=url,
            logdir=tmp_path,
            env={"DB_CONN_MAX_AGE": "600"},
        )
        try:
            # Side by side: the first ticket is filed (a manage.py process of its own)
            # while the worker starts; its routing task waits in Redis for the worker.
            with ThreadPoolExecutor(max_workers=1) as pool:
                filing = pool.submit(_file_one, env)
                worker.start()
                first = filing.result()
            assert wait_until(lambda: _routed_once(url, first), timeout=60), worker.log()[-3000:]

            old_pid = cluster.pid()
            cluster.stop()
            cluster.start()
            assert cluster.pid() != old_pid

            second = _file_one(env)
            assert wait_until(lambda: _routed_once(url, second), timeout=60), worker.log()[-3000:]
            # At the first attempt: no task failed on the dead connection and was retried.
            assert "Retry in" not in worker.log(), worker.log()[-3000:]
        finally:
            worker.stop()
