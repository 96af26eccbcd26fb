// For running the end-to-end tests alone: `npx vitest run --config e2e/vitest.config.ts`.
// The main config (test/vitest.config.ts) includes them with `e2e/**/*.test.ts`.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import base from '../vitest.config.js';

export default defineConfig({
  ...base,
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: { ...base.test, include: ['e2e/**/*.test.ts'], typecheck: { enabled: false } },
});
