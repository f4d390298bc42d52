# One image for both service processes; docker-compose.yml picks the command (worker or api).
FROM node:20-bookworm-slim

# Chromium for the WhatsApp Web engine; fonts so pages render; tini reaps Chromium's children.
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-liberation tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    PUPPETEER_SKIP_DOWNLOAD=1 \
    CHROMIUM_PATH=/usr/bin/chromium

WORKDIR /app
COPY package.json package-lock.json .puppeteerrc.cjs ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
# The engine's Chromium profiles (a cache of the sealed logins) live under .data: the service's user must write there.
RUN mkdir -p /app/.data && chown node:node /app/.data

USER node
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "api/main.ts"]
