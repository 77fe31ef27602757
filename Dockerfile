# Titrate server image: Node 20 on Debian bookworm, production dependencies only, non-root.
# For external PostgreSQL and Redis set DATABASE_URL and REDIS_URL (see docker-compose.yml);
# without DATABASE_URL the embedded PostgreSQL keeps its data under DATA_DIR.
FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/var/lib/titrate

WORKDIR /app

# Workspace manifests first, so that dependency layers are cached across code changes.
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY server/package.json server/
COPY client-sdk/package.json client-sdk/
COPY loadtest/package.json loadtest/
COPY sim/package.json sim/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY tsconfig.json ./
COPY shared/src shared/src
COPY server/src server/src
COPY migrations migrations

RUN groupadd --system titrate && useradd --system --gid titrate --home-dir /var/lib/titrate titrate \
    && mkdir -p /var/lib/titrate && chown titrate:titrate /var/lib/titrate
USER titrate
VOLUME ["/var/lib/titrate"]
EXPOSE 8080

HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"

STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "server/src/bin/titrate.ts", "serve"]
