#!/bin/sh
# Start of the `web` service: bring the schema up to date, then hand over to the
# command (gunicorn). The database is healthy before this runs (compose
# depends_on), and the worker and beat wait for web to be healthy, so no task
# ever meets a table that is not there yet.
set -eu

python manage.py migrate --noinput

exec "$@"
