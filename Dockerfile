# syntax=docker/dockerfile:1
# postmortem-lead service image: the API (`postmortem serve`) and the job worker
# (`python -m service.worker`, i.e. `postmortem worker`) run from this one image; compose.yaml
# starts both. Build: docker build -t postmortem-lead .
#
# Why one image: the API and the workers must run the same drafting engine, or a job resumed on a
# worker of another version could render a different report than it started with.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# git: the repository reader (GitPython) shells out to it for dumps that include a repo.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/postmortem
# Dependencies first (a layer that survives source edits), then the packages themselves.
COPY pyproject.toml README.md ./
RUN python - <<'PY' > /tmp/requirements.txt
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))
PY
RUN pip install -r /tmp/requirements.txt
COPY agent ./agent
COPY tools ./tools
COPY evals ./evals
COPY prompts ./prompts
COPY incidents ./incidents
COPY service ./service
RUN pip install --no-deps .

# Never run as root: dumps are untrusted input. /data holds uploads, run folders and the generated
# secret key; the API and every worker must share it (a volume in compose.yaml).
RUN useradd --create-home --uid 10001 postmortem \
    && mkdir -p /data && chown postmortem:postmortem /data
USER postmortem
ENV POSTMORTEM_DATA_DIR=/data
VOLUME ["/data"]

EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
CMD ["postmortem", "serve", "--host", "0.0.0.0", "--port", "8000"]
