# syntax=docker/dockerfile:1
# Drumbeat's image: `docker build -t drumbeat .`, then `docker run drumbeat` serves on port 3978
# (README: "Operate on PostgreSQL"; deploy/compose.yaml runs PostgreSQL and two replicas).

# The build stage turns the source into wheels: Drumbeat's own and every dependency's, so the
# final stage installs from them offline and never needs a compiler or the source tree.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY . .
RUN pip wheel --wheel-dir /wheels .

# The final stage: python:3.11-slim (no compilers) with the wheels installed, bound in for the
# one RUN, so they take no layer. It runs as a user of its own, in /data (the default SQLite
# file lands there: mount a volume on it, or set DATABASE_URL to PostgreSQL).
FROM python:3.11-slim
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels drumbeat
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/drumbeat drumbeat \
    && install -d -o drumbeat -g drumbeat /data
USER drumbeat
WORKDIR /data
EXPOSE 3978
# 503 while the database is unreachable: urlopen raises on it, so the check fails. slim has no
# curl; Python is there anyway. PORT is Drumbeat's own setting (3978 unless set).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('PORT', '3978'), timeout=4)"
ENTRYPOINT ["drumbeat"]
CMD ["serve"]
