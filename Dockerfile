# ttygate appliance image. Multi-stage: build the TypeScript, then a runtime with QEMU and the
# Linux guest image. (Not built in this repository's CI: the build machines have no Docker engine.)

FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY emulator/package.json emulator/
COPY gateway/package.json gateway/
COPY web/package.json web/
COPY e2e/package.json e2e/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20-bookworm-slim AS runtime
# python3/make/g++ only while npm ci compiles better-sqlite3; removed in the same layer.
RUN apt-get update \
 && apt-get install -y --no-install-recommends qemu-system-x86 qemu-utils busybox-static xz-utils openssl genisoimage ovmf ca-certificates \
    python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/ttygate
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/emulator/package.json emulator/
COPY --from=build /src/emulator/bin emulator/bin
COPY --from=build /src/emulator/dist emulator/dist
COPY --from=build /src/gateway/package.json gateway/
COPY --from=build /src/gateway/bin gateway/bin
COPY --from=build /src/gateway/dist gateway/dist
COPY --from=build /src/web/package.json web/
COPY --from=build /src/web/dist web/dist
COPY --from=build /src/e2e/package.json e2e/
RUN npm ci --omit=dev --no-audit --no-fund \
 && apt-get purge -y python3 make g++ && apt-get autoremove -y
RUN useradd --system --create-home --home-dir /var/lib/ttygate ttygate \
 && (getent group kvm >/dev/null && usermod -aG kvm ttygate || true)
# The demo guest image comes from Debian's packages, so it is built here, where apt lists exist.
# Its generated guest password is baked into this image: fine for the demo VM, not for anything else.
ENV TTYGATE_IMAGES=/opt/ttygate/images
RUN apt-get update && node emulator/bin/ttygate-emu.js image build linux >/dev/null \
 && rm -rf /var/lib/apt/lists/* /opt/ttygate/images/downloads && chown -R ttygate /opt/ttygate/images
USER ttygate
WORKDIR /var/lib/ttygate
VOLUME /var/lib/ttygate
EXPOSE 8443
# Mount a config with listen.host 0.0.0.0 (the default binds to loopback only).
ENTRYPOINT ["node", "/opt/ttygate/gateway/bin/ttygate.js"]
CMD ["serve", "--data", "/var/lib/ttygate/data"]

# Test stage: adds socat for pty-pair UART tests.
FROM runtime AS test
USER root
RUN apt-get update && apt-get install -y --no-install-recommends socat && rm -rf /var/lib/apt/lists/*
USER ttygate
