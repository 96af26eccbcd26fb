/**
 * The packages as npm users get them: `pnpm pack` of the built core, server and client (as
 * publishing does, `workspace:*` replaced by the version), installed with npm from the registry into
 * scratch projects outside the workspace, then imported, run and type-checked there.
 *
 * Two projects: `core-only` (core, rxjs, @types/node), which must not get the optional peer
 * `lmdb`, and `full` (the three packages with rxjs, express and their types), where the server
 * brings `lmdb` itself. Needs the build (`pnpm build`, which `npm test` runs first) and the npm
 * registry.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NAMES = ['core', 'server', 'client'] as const;
type Name = (typeof NAMES)[number];
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
/** What a Node user of the packages compiles with: strict, nodenext, ES2022 without the DOM. */
const TSC_NODE = [
  '--strict',
  '--module',
  'nodenext',
  '--moduleResolution',
  'nodenext',
  '--target',
  'es2022',
  '--lib',
  'es2022',
  '--types',
  'node',
  '--noEmit',
];
const VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'packages/core/package.json'), 'utf8')) as { version: string }
).version;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; never throws for a non-zero exit (the caller looks at `code`). */
function run(command: string, args: string[], cwd: string, timeout = 180_000): Promise<Run> {
  // Not the variables pnpm and npm set for the test run itself (npm_lifecycle_*, npm_package_*, ...):
  // the installs below are a user's, in a project of their own.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) =>
        !/^(npm_(command|lifecycle_|package_|config_user_agent|config_verify_deps)|pnpm_)/i.test(key),
    ),
  );
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, timeout, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({
        code,
        stdout,
        stderr: stderr || (error && typeof error.code !== 'number' ? error.message : ''),
      });
    });
  });
}

/** Like `run`, but a non-zero exit fails with what the command said. */
async function ok(command: string, args: string[], cwd: string): Promise<Run> {
  const r = await run(command, args, cwd);
  if (r.code !== 0)
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r;
}

let work: string;
const tarballs = {} as Record<Name, string>;
const contents = {} as Record<Name, string[]>;
let coreOnly: string;
let full: string;

async function project(name: string, specs: string[]): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir);
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({ name: `scratch-${name}`, private: true, type: 'module' }),
  );
  await ok(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...specs],
    dir,
  );
  return dir;
}

beforeAll(async () => {
  for (const name of NAMES) {
    if (!existsSync(join(ROOT, 'packages', name, 'dist/index.js')))
      throw new Error(`packages/${name} is not built: run \`pnpm build\` (the test command does)`);
  }
  work = await mkdtemp(join(tmpdir(), 'syncrepl-rx-pack-'));
  const packed = join(work, 'tarballs');
  await mkdir(packed);
  for (const name of NAMES)
    await ok('pnpm', ['pack', '--pack-destination', packed], join(ROOT, 'packages', name));
  for (const file of await readdir(packed)) {
    const name = NAMES.find((n) => file === `syncrepl-rx-${n}-${VERSION}.tgz`);
    if (name) tarballs[name] = join(packed, file);
  }
  for (const name of NAMES) {
    if (!tarballs[name]) throw new Error(`pnpm pack wrote no tarball for ${name} in ${packed}`);
    contents[name] = (await ok('tar', ['-tzf', tarballs[name]], work)).stdout
      .split('\n')
      .filter(Boolean)
      .map((path) => path.replace(/^package\//, ''));
  }
  // The two installs at once: most of their time is spent waiting for the registry.
  [coreOnly, full] = await Promise.all([
    project('core-only', [tarballs.core, 'rxjs@^7.8.0', '@types/node@^20']),
    project('full', [
      tarballs.core,
      tarballs.server,
      tarballs.client,
      'rxjs@^7.8.0',
      'express@^5',
      '@types/node@^20',
      '@types/express@^5',
    ]),
  ]);
}, 300_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the tarballs', () => {
  test.each(NAMES)(
    '%s holds README.md, LICENSE, CHANGELOG.md, package.json and dist, and no tests',
    (name) => {
      const files = contents[name];
      for (const file of [
        'README.md',
        'LICENSE',
        'CHANGELOG.md',
        'package.json',
        'dist/index.js',
        'dist/index.d.ts',
      ])
        expect(files, `${name} tarball lacks ${file}`).toContain(file);
      expect(
        files.filter((file) => /(^|\/)(test|tests|__tests__)\/|\.test(-d)?\.[cm]?[jt]s$/.test(file)),
      ).toEqual([]);
      if (name === 'core') expect(files).toContain('dist/cli/main.js');
      if (name === 'client') expect(files).toContain('dist/browser/syncrepl-rx-client.js');
    },
  );

  test.each(NAMES)('%s declares its peers and no workspace: specifiers', (name) => {
    const manifest = JSON.parse(
      readFileSync(join(full, 'node_modules/@syncrepl-rx', name, 'package.json'), 'utf8'),
    ) as Record<string, Record<string, unknown> | undefined>;
    expect(JSON.stringify(manifest)).not.toContain('workspace:');
    expect(manifest.peerDependencies?.rxjs).toBeDefined();
    expect(manifest.dependencies?.rxjs).toBeUndefined();
    if (name === 'core') {
      expect(manifest.dependencies?.lmdb).toBeUndefined();
      expect(manifest.peerDependenciesMeta?.lmdb).toEqual({ optional: true });
    }
    if (name === 'server') {
      expect(manifest.peerDependencies?.express).toBeDefined();
      expect(manifest.dependencies?.express).toBeUndefined();
      expect(manifest.dependencies?.['@syncrepl-rx/core']).toBe(VERSION);
    }
  });
});

describe('installed with npm, without lmdb (core and rxjs only)', () => {
  test('lmdb is not installed', () => {
    const lock = JSON.parse(readFileSync(join(coreOnly, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, unknown>;
    };
    const installed = Object.keys(lock.packages);
    expect(installed).toContain('node_modules/@syncrepl-rx/core');
    expect(installed.filter((path) => /(^|\/)node_modules\/(lmdb|@lmdb\/[^/]+)$/.test(path))).toEqual([]);
    expect(existsSync(join(coreOnly, 'node_modules/lmdb'))).toBe(false);
  });

  test('the core loads and works; LmdbStore.open rejects with MissingPackageError, creating nothing', async () => {
    await writeFile(
      join(coreOnly, 'check.mjs'),
      `
import { existsSync } from 'node:fs';
import { from, lastValueFrom, toArray } from 'rxjs';
import { LmdbStore, MemoryStore, MissingPackageError, SyncreplError, replicate } from '@syncrepl-rx/core';

const store = new MemoryStore();
const changes = await lastValueFrom(
  from([
    { type: 'add', dn: 'uid=a,dc=example,dc=com', entryUUID: '11111111-1111-1111-1111-111111111111', attributes: { uid: ['a'] } },
    { type: 'refreshDelete', refreshDone: true },
  ]).pipe(replicate({ store }), toArray()),
);
let rejection;
try {
  await LmdbStore.open('./replica', { identity: { base: 'dc=example,dc=com' } });
} catch (error) {
  rejection = {
    missingPackage: error instanceof MissingPackageError,
    syncreplError: error instanceof SyncreplError,
    name: error.name,
    code: error.code,
    packageName: error.packageName,
    message: error.message,
  };
}
console.log(JSON.stringify({ changes: changes.map((c) => c.type), rejection, created: existsSync('./replica') }));
`,
    );
    const r = await ok(process.execPath, ['check.mjs'], coreOnly);
    expect(JSON.parse(r.stdout)).toEqual({
      changes: ['add', 'ready'],
      rejection: {
        missingPackage: true,
        syncreplError: true,
        name: 'MissingPackageError',
        code: 'MISSING_PACKAGE',
        packageName: 'lmdb',
        message: "LmdbStore needs the optional package 'lmdb': npm install lmdb.",
      },
      created: false,
    });
  });

  test('the CLI runs; --store says to install lmdb', async () => {
    const bin = join(coreOnly, 'node_modules/.bin/syncrepl-rx');
    const version = await ok(bin, ['--version'], coreOnly);
    expect(version.stdout).toContain(VERSION);
    // The store is opened before connecting (port 9 is never reached).
    const store = await run(
      bin,
      ['tail', '-H', 'ldap://127.0.0.1:9', '-b', 'dc=example,dc=com', '--store', join(coreOnly, 'cli-store')],
      coreOnly,
      30_000,
    );
    expect(store.code).not.toBe(0);
    expect(store.stderr).toContain("LmdbStore needs the optional package 'lmdb': npm install lmdb.");
  });

  test('its types check with --strict, nodenext and lib es2022, without lmdb', async () => {
    await writeFile(
      join(coreOnly, 'core.ts'),
      `
import { LmdbStore, MemoryStore, MissingPackageError, syncrepl, type ReplicaStore, type SyncMessage } from '@syncrepl-rx/core';

const store: ReplicaStore = new MemoryStore();
const opened: Promise<LmdbStore> = LmdbStore.open('./replica', { identity: { base: 'dc=example,dc=com' } });
opened.catch((error: unknown) => error instanceof MissingPackageError && error.packageName === 'lmdb');
const messages = syncrepl({ url: 'ldap://ldap.example.com', base: 'dc=example,dc=com' });
messages.subscribe((m: SyncMessage) => console.log(m.type, store));
`,
    );
    const r = await run(process.execPath, [TSC, ...TSC_NODE, 'core.ts'], coreOnly);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('installed with npm: core, server and client', () => {
  test('all three import in Node, and a collection runs there without IndexedDB', async () => {
    await writeFile(
      join(full, 'check.mjs'),
      `
import express from 'express';
import * as core from '@syncrepl-rx/core';
import * as coreInternal from '@syncrepl-rx/core/internal';
import * as server from '@syncrepl-rx/server';
import * as client from '@syncrepl-rx/client';
import * as bundle from '@syncrepl-rx/client/browser';

const types = (m, names) => Object.fromEntries(names.map((n) => [n, typeof m[n]]));
const subscribers = client.collection('http://127.0.0.1:9/subscriber?subscribe=1', { store: null });
const size = subscribers.getSnapshot().size;
await subscribers.close();
const app = express();
console.log(JSON.stringify({
  core: types(core, ['syncrepl', 'replicate', 'replicateFrom', 'MemoryStore', 'LmdbStore', 'MissingPackageError', 'foldRenames']),
  coreInternal: types(coreInternal, ['checkLmdbFile', 'viewIdentity', 'parseCookie']),
  narrow: { core: 'checkLmdbFile' in core, server: 'MAX_RESUME_COOKIE_BYTES' in server, client: 'writeBatch' in client },
  server: types(server, ['syncreplResources', 'HttpError', 'SSE_HEADERS']),
  client: types(client, ['collection', 'eventStream', 'BACKOFF_DEFAULTS']),
  bundle: types(bundle, ['collection']),
  size,
  express: typeof app.use,
}));
`,
    );
    const r = await ok(process.execPath, ['check.mjs'], full);
    expect(JSON.parse(r.stdout)).toEqual({
      core: {
        syncrepl: 'function',
        replicate: 'function',
        replicateFrom: 'function',
        MemoryStore: 'function',
        LmdbStore: 'function',
        MissingPackageError: 'function',
        foldRenames: 'function',
      },
      // What the server needs beyond core's public API: a subpath, not the public index.
      coreInternal: { checkLmdbFile: 'function', viewIdentity: 'function', parseCookie: 'function' },
      narrow: { core: false, server: false, client: false },
      server: { syncreplResources: 'function', HttpError: 'function', SSE_HEADERS: 'object' },
      client: { collection: 'function', eventStream: 'function', BACKOFF_DEFAULTS: 'object' },
      bundle: { collection: 'function' },
      size: 0,
      express: 'function',
    });
  });

  test('with the server installed, LmdbStore opens (the server brings lmdb)', async () => {
    await writeFile(
      join(full, 'lmdb.mjs'),
      `
import { LmdbStore } from '@syncrepl-rx/core';
const store = await LmdbStore.open('./replica', { identity: { base: 'dc=example,dc=com' } });
console.log(JSON.stringify({ cookie: store.cookie ?? null }));
await store.close();
`,
    );
    const r = await ok(process.execPath, ['lmdb.mjs'], full);
    expect(JSON.parse(r.stdout)).toEqual({ cookie: null });
  });

  test('core and server types check with --strict, nodenext and lib es2022', async () => {
    await writeFile(
      join(full, 'node-side.ts'),
      `
import express from 'express';
import { MemoryStore, replicateFrom, syncrepl, type Change } from '@syncrepl-rx/core';
import { syncreplResources, type SyncreplResources, type SyncreplResourcesOptions } from '@syncrepl-rx/server';

const options: SyncreplResourcesOptions = {
  sources: { dir: { url: 'ldap://ldap.example.com', base: 'dc=example,dc=com' } },
  resources: [
    {
      name: 'person',
      source: 'dir',
      path: '/people',
      match: (e) => e.attributes.objectClass?.includes('inetOrgPerson') ?? false,
      id: (e) => String(e.attributes.uid?.[0]),
      body: (e) => ({ name: e.attributes.cn?.[0] }),
    },
  ],
  secret: 'a secret of sixteen characters or more',
};
export function start(): SyncreplResources {
  const api = syncreplResources(options);
  express().use(api).get('/metrics', api.metricsHandler);
  return api;
}
replicateFrom(new MemoryStore(), (cookie) => syncrepl({ url: 'ldap://ldap.example.com', base: 'dc=example,dc=com', cookie }))
  .subscribe((change: Change) => console.log(change.type));
`,
    );
    const r = await run(process.execPath, [TSC, ...TSC_NODE, 'node-side.ts'], full);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  test('client types check with --strict and nodenext, in a browser app and in Node without the DOM lib', async () => {
    const config = (lib: string[], types: string[]) =>
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          lib,
          types,
          noEmit: true,
        },
        files: ['client.ts'],
      });
    // A browser app: the DOM, no @types/node. A Node app: no DOM, and no skipLibCheck either.
    await writeFile(join(full, 'tsconfig.client.json'), config(['es2022', 'dom', 'dom.iterable'], []));
    await writeFile(join(full, 'tsconfig.client-node.json'), config(['es2022'], ['node']));
    await writeFile(
      join(full, 'client.ts'),
      `
import { collection, createStreamStore, type Collection, type CollectionStatus, type LocalStore } from '@syncrepl-rx/client';

interface Subscriber {
  id: string;
  name: string;
}
const store: LocalStore = createStreamStore('http://localhost/realm/example.org/subscriber?subscribe=1');
const subscribers: Collection<Subscriber> = collection<Subscriber>('/realm/example.org/subscriber?subscribe=1', { store });
const names: string[] = [...subscribers.getSnapshot().values()].map((s) => s.name);
const status: CollectionStatus = subscribers.status.getSnapshot();
console.log(names, status.kind);
`,
    );
    for (const tsconfig of ['tsconfig.client.json', 'tsconfig.client-node.json']) {
      const r = await run(process.execPath, [TSC, '-p', tsconfig], full);
      expect({ tsconfig, out: r.stdout + r.stderr }).toEqual({ tsconfig, out: '' });
      expect(r.code).toBe(0);
    }
  });
});
