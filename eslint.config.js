import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Imports every file may not make.
const FENCES = [
  {
    group: ['ldapjs', '@ldapjs/*'],
    message: 'ldapjs lives behind packages/core/src/protocol/ldapjs.ts only.',
  },
  { group: ['rxjs/internal/*'], message: 'Use the public RxJS API only.' },
];

// The layers of packages/core/src, lowest first (docs/design.md "Layers"): a file imports only
// from its own layer and the ones below. The floor is the files directly in src/ (errors.ts,
// dn.ts, logger.ts); index.ts, the public API, and internal.ts, the server's subpath
// (@syncrepl-rx/core/internal), stand above them all.
const LAYERS = ['protocol', 'sync', 'stores', 'replica', 'operators', 'cli'];
const LAYER_ORDER = `floor (errors.ts, dn.ts, logger.ts) < ${LAYERS.join(' < ')} < index.ts, internal.ts`;

/** no-restricted-imports for one layer's files: the fences, and every layer above it. */
function layerRule(name, files, from, above, fences = FENCES) {
  const forbidden = [...above.map((l) => `${l}/`), 'index.js'];
  const patterns = [
    ...fences,
    {
      group: forbidden.map((f) => `${from}${f}${f.endsWith('/') ? '*' : ''}`),
      message: `${name} may not import ${forbidden.join(', ')}: core's layers, lowest first, are ${LAYER_ORDER} (docs/design.md "Layers").`,
    },
  ];
  return { files, rules: { 'no-restricted-imports': ['error', { patterns }] } };
}

const layerRules = [
  {
    ...layerRule('the floor (src/*.ts)', ['packages/core/src/*.ts'], './', LAYERS),
    ignores: ['packages/core/src/index.ts', 'packages/core/src/internal.ts', 'packages/core/src/rx.ts'],
  },
  // The one file that may name rxjs's own modules (start-up: see its comment); still the floor.
  layerRule('the floor (src/rx.ts)', ['packages/core/src/rx.ts'], './', LAYERS, FENCES.slice(0, 1)),
  ...LAYERS.map((layer, i) =>
    layerRule(`${layer}/`, [`packages/core/src/${layer}/**`], '../', LAYERS.slice(i + 1)),
  ),
  // The one file that may import ldapjs is still held to its layer.
  layerRule('protocol/', ['packages/core/src/protocol/ldapjs.ts'], '../', LAYERS.slice(1), []),
];

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'test/artifacts/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-imports': ['error', { patterns: FENCES }],
    },
  },
  ...layerRules,
  {
    files: ['**/*.d.ts'],
    rules: { '@typescript-eslint/no-unused-vars': 'off' },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
