# nodeconf daemon image: `nodeconf run`, non-root, works with a read-only root filesystem.
#
#   docker build -t nodeconf .
#   docker run --read-only --tmpfs /run/nodeconf -v /path/to/configmap:/config:ro nodeconf \
#       --source file --path /config --write-effective /run/nodeconf/effective.json
#
# Nothing is written outside what the pod mounts: bytecode is compiled at build time and
# PYTHONDONTWRITEBYTECODE stops the interpreter from trying to write more; --write-effective
# should point into an emptyDir or tmpfs (its directory must exist and be writable by 65532).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# A venv at the same path in both stages; the base image's interpreter is the same, so its
# symlinks stay valid. Exact pins come from pyproject.toml.
RUN python -m venv /opt/nodeconf \
 && /opt/nodeconf/bin/pip install --no-compile "/src[kubernetes]" \
 && /opt/nodeconf/bin/python -m compileall -q -j 0 /opt/nodeconf/lib \
 && /opt/nodeconf/bin/nodeconf --version

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="nodeconf" \
      org.opencontainers.image.description="Live, validated, per-node configuration for Kubernetes node agents" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/nodeconf/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /opt/nodeconf /opt/nodeconf
# A numeric, unprivileged user, so `runAsNonRoot: true` can be checked by the kubelet.
RUN groupadd --system --gid 65532 nodeconf \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin nodeconf
USER 65532:65532
WORKDIR /
EXPOSE 9808
STOPSIGNAL SIGTERM
# Inside a pod the source defaults to kubernetes (KUBERNETES_SERVICE_HOST is set) with the
# downward-API variables POD_NAMESPACE, NODE_NAME and POD_NAME. The status server listens on
# every interface so the kubelet's probes reach it; arguments given to the container replace
# this CMD.
ENTRYPOINT ["nodeconf", "run"]
CMD ["--status-addr", ":9808"]
