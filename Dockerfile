# meshkit serve as a container image.
#
#   docker build -t meshkit .                                  # CPU (the default)
#   docker build -t meshkit:gpu --build-arg ONNXRUNTIME_GPU=true .   # + onnxruntime's CUDA 12 provider
#   docker run -p 8000:8000 -p 8001:8001 -v $PWD/models:/models:ro meshkit
#
# Settings come from MESHKIT_* variables (below), flags after the image name (they override the
# variables: `docker run meshkit --memory 4GiB --eviction gdsf`) or a config file
# (`--config /etc/meshkit/config.yaml`). Binding beyond loopback (MESHKIT_HOST=0.0.0.0) is what a
# container needs; give the server a tenants file (`--tenants /etc/meshkit/tenants.yaml`, tokens as
# sha256 digests) so it is not open to anyone who can reach the port. deploy/README.md has more.

# Node 20 on Debian 12, pinned to the tag of the Node release the project is tested on.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# ---- dependencies: production only; .npmrc's ignore-scripts keeps install scripts from downloading ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY packages/core/package.json packages/core/
COPY packages/onnx-models/package.json packages/onnx-models/
COPY packages/server/package.json packages/server/
COPY packages/sim/package.json packages/sim/
COPY packages/bench/package.json packages/bench/
COPY packages/cli/package.json packages/cli/
COPY packages/report/package.json packages/report/
# true: also fetch onnxruntime's CUDA 12 execution provider (from NuGet, as onnxruntime-node's own
# installer does); the host then needs an NVIDIA GPU, its driver and CUDA 12 + cuDNN 9 libraries.
ARG ONNXRUNTIME_GPU=false
RUN npm ci --omit=dev --no-audit --no-fund \
 && if [ "$ONNXRUNTIME_GPU" = "true" ]; then \
      cd node_modules/onnxruntime-node && ONNXRUNTIME_NODE_INSTALL=cuda12 node script/install.js; \
    fi \
 && npm cache clean --force

# ---- build: the CLI bundle (esbuild comes with tsx, a production dependency) ----
FROM deps AS build
COPY tsconfig.json ./
COPY bin/ bin/
COPY packages/ packages/
COPY scenarios/ scenarios/
RUN node bin/build.mjs

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    MESHKIT_HOST=0.0.0.0 \
    MESHKIT_PORT=8000 \
    MESHKIT_GRPC_PORT=8001 \
    MESHKIT_DATA_DIR=/data \
    MESHKIT_MODELS=/models
# A system user with a fixed id (runAsNonRoot in Kubernetes checks the number), owning only /data.
RUN groupadd --system --gid 10001 meshkit \
 && useradd --system --uid 10001 --gid meshkit --home-dir /app --no-create-home --shell /usr/sbin/nologin meshkit \
 && mkdir -p /data /models /etc/meshkit \
 && chown meshkit:meshkit /data
WORKDIR /app
# The same paths as in the build stage: the bundle finds its proto files and worker entries there.
COPY --from=build /app /app
USER 10001:10001
EXPOSE 8000 8001
VOLUME ["/data"]
# No curl in the slim image: Node's own fetch asks the server whether it is ready.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.MESHKIT_PORT || 8000) + '/v2/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/bin/meshkit.js", "serve"]
# Without a tenants file meshkit binds beyond loopback only when told to: the bare image is for a
# private network. In production replace --insecure-open with --tenants /etc/meshkit/tenants.yaml
# (a mounted Secret, as deploy/kubernetes does), which turns on bearer-token authentication.
CMD ["--memory", "1GiB", "--drain-timeout", "30s", "--insecure-open"]
