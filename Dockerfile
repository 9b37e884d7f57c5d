# syntax=docker/dockerfile:1
# One image for the code server, the webserver, the daemon and every run container
# (docker-compose.yml tags it osmose-dagster:${OSMOSE_IMAGE_TAG:-latest}).
#
#   GPU host (default): torch 2.13.0 from PyPI, whose Linux x86_64 wheel is the CUDA build
#                       (it brings its CUDA libraries; the host needs only the NVIDIA driver
#                       and the NVIDIA Container Toolkit).
#   CPU-only host:      --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
#                       (docker-compose.cpu.yml does this), a few GB smaller.
#   Legacy .ppt decks:  --build-arg WITH_LIBREOFFICE=true (adds LibreOffice Impress, ~500 MB).
#   Kubernetes:         --build-arg OSMOSE_EXTRAS=k8s (dagster-k8s, for the run launcher that
#                       Dagster's Helm chart loads: docs/scaling.md).
FROM python:3.11-slim

ARG TORCH_SPEC="torch==2.13.0"
ARG TORCH_INDEX_URL="https://pypi.org/simple"
ARG WITH_LIBREOFFICE="false"
ARG OSMOSE_EXTRAS=""
ARG OSMOSE_UID=10001
ARG OSMOSE_GID=10001

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# OCR of slide pictures: Debian's Tesseract language data for English, French and German (a few
# MB; tesserocr's wheel brings the engine). OSMOSE_OCR=off at run time leaves them unused.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tesseract-ocr-eng tesseract-ocr-fra \
       tesseract-ocr-deu \
    && rm -rf /var/lib/apt/lists/*

RUN if [ "$WITH_LIBREOFFICE" = "true" ]; then \
        apt-get update \
        && apt-get install -y --no-install-recommends libreoffice-impress \
        && rm -rf /var/lib/apt/lists/*; \
    fi

RUN groupadd --gid "$OSMOSE_GID" osmose \
    && useradd --uid "$OSMOSE_UID" --gid "$OSMOSE_GID" --home-dir /home/osmose --create-home \
       --shell /usr/sbin/nologin osmose

# torch first, from the chosen index: installing the project after it keeps pip from resolving
# another torch build (the pin in pyproject.toml, 2.13.0, is satisfied by 2.13.0+cpu too).
RUN pip install --index-url "$TORCH_INDEX_URL" "$TORCH_SPEC"

WORKDIR /opt/osmose
COPY pyproject.toml README.md ./
COPY osmose_dagster ./osmose_dagster
RUN pip install ".${OSMOSE_EXTRAS:+[$OSMOSE_EXTRAS]}" && rm -rf build osmose_dagster.egg-info
COPY deploy ./deploy

# State: OSMOSE_HOME (assets, locks; the inbox is mounted at /data/inbox), the Dagster instance
# (Postgres, from deploy/dagster.yaml; compute logs under its storage/), and the model cache,
# mounted read-only: nothing is downloaded at run time.
ENV OSMOSE_HOME=/data \
    DAGSTER_HOME=/opt/dagster/home \
    HF_HOME=/models \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    OSMOSE_MODEL=intfloat/multilingual-e5-large \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
RUN mkdir -p /data/inbox /models "$DAGSTER_HOME/storage" \
    && cp deploy/dagster.yaml "$DAGSTER_HOME/dagster.yaml" \
    && chown -R osmose:osmose /data /models "$DAGSTER_HOME"

USER osmose
EXPOSE 3000 4000
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", \
     "-m", "osmose_dagster.definitions", "--location-name", "osmose_dagster"]
