# PosDesk image: one image for the web (gunicorn), worker and beat services.
# Django 6 needs Python 3.12 or newer.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=portal.settings_production \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/data/media

WORKDIR /app

# A fixed uid so the named volumes keep the same owner across rebuilds.
RUN groupadd --system --gid 10001 posdesk \
    && useradd --system --uid 10001 --gid posdesk --home-dir /app --no-create-home posdesk

# Requirements first: the layer is reused until requirements.txt changes.
# psycopg[binary] ships its own libpq, so no system packages are needed.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .

# Static files are baked into the image (whitenoise serves them). The key,
# database, broker, cache and site address are throw-aways only for this step; the real
# ones come from the environment at run time.
RUN SECRET_KEY=collectstatic-only-not-a-real-secret-key-0123456789abcdefghij \
    ALLOWED_HOSTS=localhost \
    DATABASE_URL=sqlite:////tmp/collectstatic.sqlite3 \
    CELERY_BROKER_URL=memory:// \
    SITE_URL=http://localhost \
    CACHE_URL=redis://localhost:6379/1 \
    python manage.py collectstatic --noinput

# Uploads and the beat schedule live in named volumes; an empty named volume
# takes the owner of the directory it is mounted on, so create them here.
RUN chmod +x docker/web-entrypoint.sh \
    && mkdir -p /data/media /data/beat \
    && chown -R posdesk:posdesk /data

USER posdesk

EXPOSE 8000

CMD ["gunicorn", "portal.wsgi", "-c", "docker/gunicorn.conf.py", "--bind", "0.0.0.0:8000"]
