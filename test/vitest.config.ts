import { defineConfig } from 'vitest/config';
import { defaultClientConditions, defaultServerConditions } from 'vite';

export default defineConfig({
  // Tests run against the TypeScript sources (the `@syncrepl-rx/source` export condition), no build needed.
  resolve: { conditions: ['@syncrepl-rx/source', ...defaultClientConditions] },
  ssr: { resolve: { conditions: ['@syncrepl-rx/source', ...defaultServerConditions] } },
  test: {
    include: ['unit/**/*.test.ts', 'integration/**/*.test.ts', 'e2e/**/*.test.ts', 'types/**/*.test-d.ts'],
    typecheck: { enabled: true, include: ['types/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['./vitest.global-setup.ts'],
  },
});
