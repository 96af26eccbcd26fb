// One ESM file for browsers without a bundler (the SubMan live page, the browser benchmark):
// dist/browser/syncrepl-rx-client.js, with rxjs, idb-keyval and eventsource-parser inside.
// Run by `pnpm --dir packages/client bundle`, after `tsc -b`.
import { build } from 'esbuild';
import { fileURLToPath, URL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const result = await build({
  absWorkingDir: root,
  entryPoints: ['src/index.ts'],
  outfile: 'dist/browser/syncrepl-rx-client.js',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  // rxjs' ES2015 build rather than its ES5 one; never eventsource-parser's TypeScript sources.
  conditions: ['es2015'],
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
});
const bytes = Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
console.log(`dist/browser/syncrepl-rx-client.js: ${(bytes / 1024).toFixed(1)} KiB`);
