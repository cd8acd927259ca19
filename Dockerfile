# The lattice command in a container (docker-compose.yml runs the server and an agent from it).
# TypeScript runs through tsx, so the server needs no build step; better-sqlite3 compiles here and
# the web UI is built into ui/dist.
FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
# The web UI the server serves at / (vite and lit are runtime dependencies; .dockerignore keeps a
# local, possibly stale, ui/dist out of the image).
RUN npm run build:ui
ENTRYPOINT ["node", "bin/lattice.js"]
CMD ["server", "--listen", "0.0.0.0:8080"]
