// A stand-in for the official `postgres:16` image, built from this machine's Debian PostgreSQL
// (no registry is reachable) and tagged postgres:16 inside a test's own dockerd (./docker.ts).
// It keeps the official image's contract, the part a manifest relies on:
//   - env POSTGRES_USER (default postgres), POSTGRES_PASSWORD (required on first start, unless
//     POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_DB (default: the user), POSTGRES_INITDB_ARGS,
//     POSTGRES_HOST_AUTH_METHOD; PGDATA=/var/lib/postgresql/data, declared as a VOLUME;
//   - docker-entrypoint.sh: as root it prepares PGDATA and /var/run/postgresql and runs itself
//     again as the postgres user (uid 999); an empty PGDATA is initialised (initdb --username
//     --pwfile, then `host all all all <password_encryption>` appended to pg_hba.conf, so
//     scram-sha-256; the database created), a PGDATA holding PG_VERSION is kept as it is; then
//     `exec postgres` listening on every address (listen_addresses = '*'), port 5432 (PGPORT);
//   - pg_isready on PATH (for `healthCheck.exec`), the socket in /var/run/postgresql.
// As in the official image, initdb runs without --auth: local (socket) connections and TCP from
// 127.0.0.1/::1 inside the container's network are trusted; every other address needs the password.
// The image is Debian's PostgreSQL (15 here, not 16): the protocol and the contract are the same.
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { importRootfs, type TestDocker } from './docker.ts';

const run = promisify(execFile);

export const POSTGRES_IMAGE = 'postgres:16';
const BUSYBOX = '/bin/busybox';
/** The postgres user and group of the official image. */
const POSTGRES_UID = 999;
/** The server's modules that initdb and a plain server load; the contrib modules are left out. */
const MODULES = /^(plpgsql|dict_snowball|libpqwalreceiver|pgoutput|.*_and_.*)\.so$/;
const APPLETS = ['sh', 'su', 'id', 'mkdir', 'chmod', 'chown', 'cat', 'rm', 'ls', 'mktemp', 'sed', 'env', 'sleep', 'echo', 'printf', 'test', 'true', 'false'];

interface PostgresInstall {
  version: string;
  bin: string;
  share: string;
  lib: string;
}

/** The newest Debian PostgreSQL with a server, initdb and pg_isready. */
function findPostgresInstall(): PostgresInstall | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const version = readdirSync(root)
    .filter((v) => ['postgres', 'initdb', 'pg_isready'].every((tool) => existsSync(join(root, v, 'bin', tool))) && existsSync(join('/usr/share/postgresql', v)))
    .sort((a, b) => Number(b) - Number(a))[0];
  if (!version) return undefined;
  return { version, bin: join(root, version, 'bin'), share: join('/usr/share/postgresql', version), lib: join(root, version, 'lib') };
}

/** Why the postgres:16 stand-in cannot be built here (and psql not run), or undefined. Throws with CI=true. */
export function postgresImageUnavailableReason(): string | undefined {
  const missing = [
    !findPostgresInstall() && 'PostgreSQL server binaries in /usr/lib/postgresql/*/bin (apt-get install postgresql)',
    !existsSync('/usr/bin/psql') && '/usr/bin/psql (apt-get install postgresql-client)',
    !existsSync(BUSYBOX) && `${BUSYBOX} (apt-get install busybox-static)`,
    process.getuid?.() !== 0 && 'root (the image holds files owned by uid 999)',
  ].filter(Boolean);
  if (missing.length === 0) return undefined;
  const reason = `the postgres:16 stand-in needs ${missing.join(', ')}`;
  if (process.env.CI === 'true') throw new Error(`${reason}; CI=true requires the PostgreSQL demo test to run`);
  return reason;
}

/** The official docker-entrypoint.sh, in busybox sh: same variables, same steps, same messages. */
const ENTRYPOINT = `#!/bin/sh
set -e
# a first argument that looks like a flag is one of the server's
if [ "\${1#-}" != "$1" ]; then set -- postgres "$@"; fi

if [ "$1" = postgres ]; then
	: "\${POSTGRES_USER:=postgres}"
	: "\${POSTGRES_DB:=$POSTGRES_USER}"
	export POSTGRES_USER POSTGRES_DB
	if [ "$(id -u)" = 0 ]; then
		mkdir -p "$PGDATA" /var/run/postgresql
		chmod 700 "$PGDATA" || :
		chown -R postgres:postgres "$PGDATA" /var/run/postgresql || :
		chmod 3775 /var/run/postgresql || :
		# again, as the postgres user (the official image uses gosu)
		exec su -p -s /bin/sh -c 'exec "$0" "$@"' -- postgres "$0" "$@"
	fi

	if [ -s "$PGDATA/PG_VERSION" ]; then
		printf '\\nPostgreSQL Database directory appears to contain a database; Skipping initialization\\n\\n'
	else
		if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
			echo 'Error: Database is uninitialized and superuser password is not specified.' >&2
			echo '       You must specify POSTGRES_PASSWORD to a non-empty value for the superuser.' >&2
			exit 1
		fi
		pwfile="$(mktemp)"
		printf '%s\\n' "$POSTGRES_PASSWORD" > "$pwfile"
		initdb --username="$POSTGRES_USER" --pwfile="$pwfile" $POSTGRES_INITDB_ARGS
		rm -f "$pwfile"
		# the official image's postgresql.conf.sample says listen_addresses = '*'
		echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
		auth="\${POSTGRES_HOST_AUTH_METHOD:-$(postgres -C password_encryption)}"
		printf '\\nhost all all all %s\\n' "$auth" >> "$PGDATA/pg_hba.conf"
		if [ "$POSTGRES_DB" != postgres ]; then
			db="$(printf '%s' "$POSTGRES_DB" | sed 's/"/""/g')"
			echo "CREATE DATABASE \\"$db\\";" | postgres --single -D "$PGDATA" postgres > /dev/null
		fi
		printf '\\nPostgreSQL init process complete; ready for start up.\\n\\n'
	fi
fi

exec "$@"
`;

/** Copies a file to the same path under rootfs (the content: symlinks followed). */
function copyInto(rootfs: string, file: string): void {
  const target = join(rootfs, file);
  if (existsSync(target)) return;
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(file, target);
}

/** The shared libraries ldd finds for these files (the loader included). */
async function sharedLibraries(files: string[]): Promise<Set<string>> {
  const libraries = new Set<string>();
  for (const file of files) {
    const { stdout } = await run('ldd', [file]);
    for (const line of stdout.split('\n')) {
      const path = /=>\s+(\/\S+)/.exec(line)?.[1] ?? /^\s*(\/\S+)\s+\(/.exec(line)?.[1];
      if (path) libraries.add(path);
    }
  }
  return libraries;
}

/**
 * Builds the stand-in in dir/postgres-rootfs and imports it into the engine as postgres:16
 * (about 60 MB: the server, initdb, pg_ctl and pg_isready with their libraries, busybox, the
 * entrypoint). Returns the PostgreSQL version it holds.
 */
export async function buildPostgresImage(engine: TestDocker, dir: string): Promise<string> {
  const install = findPostgresInstall();
  if (!install) throw new Error('no PostgreSQL server binaries in /usr/lib/postgresql/*/bin');
  const rootfs = join(dir, 'postgres-rootfs');
  mkdirSync(rootfs, { recursive: true });

  const tools = ['postgres', 'initdb', 'pg_ctl', 'pg_isready'].map((tool) => join(install.bin, tool));
  const modules = readdirSync(install.lib).filter((name) => MODULES.test(name)).map((name) => join(install.lib, name));
  for (const file of [...tools, ...modules, ...(await sharedLibraries([...tools, ...modules]))]) copyInto(rootfs, file);
  // initdb reads postgres.bki, the samples, timezonesets and the snowball SQL from the share dir.
  cpSync(install.share, join(rootfs, install.share), { recursive: true, filter: (source) => !source.startsWith(join(install.share, 'man')) });
  // LANG=C.UTF-8 (as the official image's en_US.utf8): initdb picks UTF8.
  if (existsSync('/usr/lib/locale/C.utf8')) cpSync('/usr/lib/locale/C.utf8', join(rootfs, 'usr/lib/locale/C.utf8'), { recursive: true });

  // UTC only (initdb picks the zone matching the system's: Etc/UTC, as in the official image).
  for (const zone of ['UTC', 'Etc/UTC']) if (existsSync(join('/usr/share/zoneinfo', zone))) copyInto(rootfs, join('/usr/share/zoneinfo', zone));
  // initdb imports the collations `locale -a` lists; what Debian's prints with no locale generated.
  mkdirSync(join(rootfs, 'usr', 'bin'), { recursive: true });
  writeFileSync(join(rootfs, 'usr', 'bin', 'locale'), "#!/bin/sh\n[ \"$1\" = -a ] && printf 'C\\nC.utf8\\nPOSIX\\n'\n", { mode: 0o755 });

  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  copyFileSync(BUSYBOX, join(rootfs, 'bin', 'busybox'));
  for (const applet of APPLETS) symlinkSync('busybox', join(rootfs, 'bin', applet));
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  writeFileSync(join(rootfs, 'etc', 'passwd'), `root:x:0:0:root:/root:/bin/sh\npostgres:x:${POSTGRES_UID}:${POSTGRES_UID}:PostgreSQL administrator:/var/lib/postgresql:/bin/sh\n`);
  writeFileSync(join(rootfs, 'etc', 'group'), `root:x:0:\npostgres:x:${POSTGRES_UID}:\n`);
  const entrypoint = join(rootfs, 'usr', 'local', 'bin', 'docker-entrypoint.sh');
  mkdirSync(dirname(entrypoint), { recursive: true });
  writeFileSync(entrypoint, ENTRYPOINT, { mode: 0o755 });

  for (const [path, mode, owner] of [
    ['tmp', 0o1777, 0],
    ['root', 0o700, 0],
    ['var/lib/postgresql', 0o1777, POSTGRES_UID],
    ['var/lib/postgresql/data', 0o1777, POSTGRES_UID],
    ['var/run/postgresql', 0o3777, POSTGRES_UID],
  ] as const) {
    const full = join(rootfs, path);
    mkdirSync(full, { recursive: true });
    chownSync(full, owner, owner);
    chmodSync(full, mode);
  }

  await importRootfs(engine.docker, rootfs, POSTGRES_IMAGE, [
    `ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${install.bin}`,
    'ENV LANG=C.UTF-8',
    `ENV PG_MAJOR=${install.version}`,
    'ENV PGDATA=/var/lib/postgresql/data',
    'VOLUME /var/lib/postgresql/data',
    'EXPOSE 5432',
    'ENTRYPOINT ["docker-entrypoint.sh"]',
    'CMD ["postgres"]',
  ]);
  return install.version;
}
