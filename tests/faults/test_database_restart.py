"""A restarted PostgreSQL must not turn the next request into a 500.

The web process keeps its connection between requests (`DB_CONN_MAX_AGE`); after a
database restart that connection is dead. `conn_health_checks=True` makes Django test
it before reuse and reconnect, so the user never sees the restart.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.services import WebServer, django_env, manage, private_postgres
from tests.webclient import WebClient

pytestmark = pytest.mark.faults

PASSWORD = "restart-proof-pw-1"


def test_requests_after_a_database_restart_succeed(tmp_path: Path) -> None:
    with private_postgres() as cluster:
        cluster.create_database("posdesk")
        env = django_env(
            DJANGO_SETTINGS_MODULE="portal.settings",
            DATABASE_URL=cluster.url("posdesk"),
            DB_CONN_MAX_AGE="600",
            DEBUG="false",
            MEDIA_ROOT=str(tmp_path / "media"),
        )
        manage("migrate", "--noinput", env=env)
        manage(
            "shell",
            "-c",
            "from portal.models import User; "
            f"User.objects.create_user('restart-user', password='{PASSWORD}')",
            env=env,
        )
        server = WebServer(env, tmp_path)
        server.start()
        try:
            client = WebClient(server.url)
            assert client.log_in("restart-user", PASSWORD).status == 302
            # A page that needs the database: the session and the user are read from it.
            assert client.get("/accounts/password/").status == 200

            old_pid = cluster.pid()
            cluster.stop()
            cluster.start()
            assert cluster.pid() != old_pid

            statuses = [client.get("/accounts/password/").status for _ in range(3)]
            assert statuses == [200, 200, 200], server.log()[-3000:]
        finally:
            server.stop()
