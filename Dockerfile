# tsnats: a NATS server in TypeScript, as a small Node.js image with the
# official nats image's defaults (clients 4222, monitoring 8222, routes 6222).
FROM node:20-alpine AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --no-audit --no-fund
COPY src ./src
COPY test ./test
COPY bench ./bench
COPY scripts ./scripts
# npm run build: tsc, then (with esbuild installed) the one-file bundle and
# its V8 code cache that dist/src/tsnats.cjs (the bin) starts from (scripts/bundle.mjs)
RUN npm run build && npm prune --omit=dev

FROM node:20-alpine
WORKDIR /opt/tsnats
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY docker/nats-server.conf /nats-server.conf
RUN ln -s /opt/tsnats/dist/src/tsnats.cjs /usr/local/bin/tsnats && chmod +x /opt/tsnats/dist/src/tsnats.cjs
EXPOSE 4222 6222 8222
ENTRYPOINT ["tsnats"]
CMD ["--config", "/nats-server.conf"]
