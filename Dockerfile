# The cinderbench image: the MagnetoDB server and the locust master and workers of docker-compose.yml.
# It installs the project the way README.md does, from this checkout.
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir -e .

# 8480: MagnetoDB's v1 data API; 8089: locust's web UI; 5557: locust master <- workers.
EXPOSE 8480 8089 5557
CMD ["cinderbench", "--help"]
