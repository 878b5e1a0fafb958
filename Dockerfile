# ttygate appliance image. Multi-stage: build the TypeScript, then a slim runtime with QEMU.
# (Not built in this repository's CI: the build machines have no Docker engine.)

FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY emulator/package.json emulator/
COPY gateway/package.json gateway/
COPY web/package.json web/
COPY e2e/package.json e2e/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx tsc -b

FROM node:20-bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends qemu-system-x86 qemu-utils busybox-static cpio xz-utils openssl genisoimage ovmf ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/ttygate
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/emulator/package.json emulator/
COPY --from=build /src/emulator/bin emulator/bin
COPY --from=build /src/emulator/dist emulator/dist
COPY --from=build /src/gateway/package.json gateway/
COPY --from=build /src/web/package.json web/
COPY --from=build /src/e2e/package.json e2e/
RUN npm ci --omit=dev --no-audit --no-fund
# Guest images are built at first start into the volume (they come from Debian's packages, which
# needs apt lists): keep them with the data.
RUN useradd --system --create-home --home-dir /var/lib/ttygate ttygate && usermod -aG kvm ttygate || true
ENV TTYGATE_IMAGES=/var/lib/ttygate/images
USER ttygate
VOLUME /var/lib/ttygate
ENTRYPOINT ["node", "emulator/bin/ttygate-emu.js"]
CMD ["--help"]

# Test stage: adds socat for pty-pair UART tests.
FROM runtime AS test
USER root
RUN apt-get update && apt-get install -y --no-install-recommends socat && rm -rf /var/lib/apt/lists/*
USER ttygate
