// The JavaScript of @syncrepl-rx/core for Node: its three entry points (the API, the internal
// subpath the server uses, the CLI) bundled from src, with the code they share split into chunks
// under dist/chunks/, so each module exists once however it is imported. tsc writes the
// declarations beside them (`emitDeclarationOnly`). One file per entry instead of about forty
// halves what importing the package costs before any work (docs/performance.md, "Start-up").
// Dependencies stay outside (`packages: 'external'`): rxjs, lmdb, asn1js, @ldapjs/filter.
// Run by `pnpm --dir packages/core bundle`, after `tsc -b`.
import { build } from 'esbuild';
import { fileURLToPath, URL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
await build({
  absWorkingDir: root,
  entryPoints: ['src/index.ts', 'src/internal.ts', 'src/cli/main.ts'],
  outbase: 'src',
  outdir: 'dist',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
