# The lattice command in a container (docker-compose.yml runs the server and an agent from it).
# TypeScript runs through tsx, so there is no build step; better-sqlite3 compiles here.
FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
ENTRYPOINT ["node", "bin/lattice.js"]
CMD ["server", "--listen", "0.0.0.0:8080"]
