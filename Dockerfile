# DeepClean's service images: one file, a shared base and one target per service.
#   docker build --target cleaner -t deepclean-cleaner .     (docker-compose.yml does it for each)
# Targets: exporter (model repository and HTTP API; CUDA torch and TensorRT, plans for the pinned
# Triton), trainer (the training service; CUDA torch), cleaner (streams frames through Triton,
# writes cleaned frames) and monitor (canary checks, promotions, status page, carousel, archive).
# The cleaner and the monitor never run the network: their environment has no torch, onnx,
# onnxscript or onnxruntime (checked below by importing what they run).
# BASE_IMAGE is any Debian-like image with Python 3.11 (pinned default; a locally made one works too).
# PIP_OPTIONS are extra pip options for every install, e.g. an offline wheel directory:
#   --build-arg PIP_OPTIONS="--no-index --find-links http://127.0.0.1:8765/" (scripts/compose-smoke)
ARG BASE_IMAGE=python:3.11.11-slim-bookworm

# ---------------------------------------------------------------- build: dependencies, then source
FROM ${BASE_IMAGE} AS python-env
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python3 -m venv /opt/deepclean
ENV PATH=/opt/deepclean/bin:$PATH
WORKDIR /src
# dependencies before the source, so a code change does not reinstall them;
# requirements-light.txt is the same list without what only running the network needs
COPY pyproject.toml constraints.txt ./
RUN python3 -c "import tomllib; print('\\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt \
    && grep -v -E '^(torch|onnx|onnxscript|onnxruntime)([^a-z_-]|$)' requirements.txt > requirements-light.txt

FROM python-env AS deps-light
ARG PIP_OPTIONS=
RUN pip install $PIP_OPTIONS -c constraints.txt -r requirements-light.txt

FROM python-env AS deps-torch
ARG PIP_OPTIONS=
# where torch comes from: PyPI's default Linux wheel (CUDA 12); a CPU build sets
# --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_INDEX_URL=
RUN pip install $PIP_OPTIONS ${TORCH_INDEX_URL:+--extra-index-url $TORCH_INDEX_URL} -c constraints.txt -r requirements.txt

FROM deps-torch AS deps-tensorrt
ARG PIP_OPTIONS=
# TensorRT of the Triton release in docker-compose.yml (tritonserver 24.12 serves TensorRT 10.7 plans);
# empty: no TensorRT (a CPU build: the exporter then cannot export tensorrt_plan)
ARG TENSORRT_VERSION=10.7.0
RUN if [ -n "$TENSORRT_VERSION" ]; then pip install $PIP_OPTIONS "tensorrt==${TENSORRT_VERSION}"; fi

FROM deps-light AS build-light
ARG PIP_OPTIONS=
COPY setup.py README.md LICENSE ./
COPY utils ./utils
COPY services ./services
RUN pip install $PIP_OPTIONS --no-deps . \
    && deepclean cleaner --help > /dev/null && deepclean monitor --help > /dev/null \
    && python3 -c "import sys, deepclean.services.cleaner.service, deepclean.services.monitor.service, deepclean.services.monitor.app; assert 'torch' not in sys.modules"

FROM deps-torch AS build-trainer
ARG PIP_OPTIONS=
COPY setup.py README.md LICENSE ./
COPY utils ./utils
COPY services ./services
RUN pip install $PIP_OPTIONS --no-deps . && deepclean trainer --help > /dev/null

FROM deps-tensorrt AS build-exporter
ARG PIP_OPTIONS=
COPY setup.py README.md LICENSE ./
COPY utils ./utils
COPY services ./services
RUN pip install $PIP_OPTIONS --no-deps . && deepclean exporter --help > /dev/null

# ---------------------------------------------------------------- runtime: the shared base
FROM ${BASE_IMAGE} AS runtime
RUN useradd --create-home --uid 1000 --user-group deepclean \
    && mkdir -p /deepclean/data /deepclean/project && chown -R deepclean:deepclean /deepclean
ENV PATH=/opt/deepclean/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
# the settings' defaults ./data and ./project are the volumes of docker-compose.yml; the settings
# read [tool.deepclean] (shared values, profiles) from the nearest pyproject.toml: this one
COPY pyproject.toml /deepclean/pyproject.toml
WORKDIR /deepclean

# ---------------------------------------------------------------- one target per service
FROM runtime AS exporter
COPY --from=build-exporter /opt/deepclean /opt/deepclean
USER deepclean
EXPOSE 5000
CMD ["deepclean", "exporter", "--host", "0.0.0.0"]

FROM runtime AS trainer
COPY --from=build-trainer /opt/deepclean /opt/deepclean
USER deepclean
CMD ["deepclean", "trainer"]

FROM runtime AS monitor
COPY --from=build-light /opt/deepclean /opt/deepclean
USER deepclean
EXPOSE 5001
CMD ["deepclean", "monitor", "--host", "0.0.0.0"]

FROM runtime AS cleaner
COPY --from=build-light /opt/deepclean /opt/deepclean
USER deepclean
EXPOSE 5002
CMD ["deepclean", "cleaner", "--host", "0.0.0.0"]
