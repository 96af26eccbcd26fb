import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Tests run against the TypeScript sources (the `source` export condition), no build needed.
  resolve: { conditions: ['source', 'module', 'node', 'import', 'default'] },
  ssr: { resolve: { conditions: ['source', 'node', 'import', 'default'] } },
  test: {
    include: ['unit/**/*.test.ts', 'integration/**/*.test.ts', 'types/**/*.test-d.ts'],
    typecheck: { enabled: true, include: ['types/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
