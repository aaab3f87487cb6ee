# odmd's image: built with the project's own set-up script on Debian bookworm, run from a slim stage.
# docker build -t odmd . && docker run -p 8080:8080 -e ODMD_MONGO_URI=mongodb://HOST:27017/odmd odmd
FROM debian:bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
COPY scripts/packages.sh scripts/packages.sh
RUN source scripts/packages.sh \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${ODMD_BUILD_PACKAGES[@]}" \
    && rm -rf /var/lib/apt/lists/*
COPY . .
RUN scripts/setup --no-packages --no-database --no-tests && strip --strip-debug -o /odmd build/odmd

FROM debian:bookworm-slim
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY scripts/packages.sh /tmp/packages.sh
RUN source /tmp/packages.sh \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${ODMD_RUNTIME_PACKAGES[@]}" \
    && rm -rf /var/lib/apt/lists/* /tmp/packages.sh \
    && useradd --system --no-create-home --home-dir /app --shell /usr/sbin/nologin odmd
COPY --from=build /odmd /usr/local/bin/odmd
COPY schemas/ /app/schemas/
WORKDIR /app
ENV ODMD_SCHEMAS=/app/schemas
USER odmd
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["odmd", "health", "http://127.0.0.1:8080/healthz"]
CMD ["odmd", "--listen", "0.0.0.0:8080"]
