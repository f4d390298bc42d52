# One image for the service's processes; docker-compose.yml picks the command (worker, api, migrate, certificates).
# NODE_IMAGE: any Debian bookworm image with Node.js 20 and a user `node` (docker-compose.local.yml passes a local
# stand-in built without a registry).
ARG NODE_IMAGE=node:20-bookworm-slim
FROM ${NODE_IMAGE}

# Chromium for the WhatsApp Web engine; fonts so pages render; tini reaps Chromium's children; openssl makes the
# compose stack's private CA and certificates at its first start (infra/compose/make-certificates.sh).
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-liberation tini ca-certificates openssl \
 && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    PUPPETEER_SKIP_DOWNLOAD=1 \
    CHROMIUM_PATH=/usr/bin/chromium

WORKDIR /app
COPY package.json package-lock.json .puppeteerrc.cjs ./
# A build behind a TLS-inspecting proxy passes its CA bundle as the build secret `build-ca` (optional; nothing of it
# stays in the image): infra/compose/local/build-images.sh passes this machine's.
RUN --mount=type=secret,id=build-ca,required=false \
    if [ -s /run/secrets/build-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/build-ca; fi \
 && npm ci --omit=dev --no-audit --no-fund
COPY . .
# The engine's Chromium profiles (a cache of the sealed logins) live under .data: the service's user must write there.
RUN mkdir -p /app/.data && chown node:node /app/.data

USER node
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "api/main.ts"]
