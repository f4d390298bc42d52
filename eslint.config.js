// Type-aware lint of every TypeScript file; `npm test` runs it and fails on any warning.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Folders import one way: from the processes' entry points down to the shared vocabulary. A folder imports only the
 * folders on lines below its own, never one above nor a neighbour on its line (docs/architecture.md draws it).
 */
const LAYERS = [
  ['scripts', 'bench'],
  ['infra'],
  ['workers', 'api'],
  ['workflows'],
  ['activities'],
  ['engine'],
  ['webhooks'],
  ['db'],
  ['config'],
  ['domain', 'lib'],
];
/** The service's own code: everything but the tools around it (scripts, bench, infra) and its settings (config). */
const SERVICE_FOLDERS = LAYERS.flat().filter((folder) => !['scripts', 'bench', 'infra', 'config'].includes(folder));
/** What knows the session and its data, and nothing of how Temporal runs it. */
const TEMPORAL_FREE = ['engine', 'webhooks', 'db', 'domain'];

const importDirection = LAYERS.flatMap((layer, depth) =>
  layer.map((folder) => {
    const above = LAYERS.slice(0, depth + 1)
      .flat()
      .filter((other) => other !== folder);
    const patterns = [
      {
        group: above.map((other) => `**/${other}/**`),
        message: `${folder}/ imports only folders below it: ${LAYERS.slice(depth + 1)
          .flat()
          .join(', ')} (eslint.config.js)`,
      },
    ];
    if (TEMPORAL_FREE.includes(folder))
      patterns.push({ group: ['@temporalio/*'], message: `${folder}/ knows nothing of Temporal` });
    return { files: [`${folder}/**/*.ts`], rules: { 'no-restricted-imports': ['error', { patterns }] } };
  }),
);

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      '.data/',
      'test-output/',
      'bench-results/',
      'web/',
      '*.config.js',
      '.puppeteerrc.cjs',
      'clients/typescript/wa-connect-api.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // `void promise` marks a promise deliberately left to run beside the caller.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          ignoreVoid: true,
          // node:test's describe and it return promises the runner itself awaits.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      // Fastify plugins, activities and interface methods are async by contract, awaiting or not.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false, attributes: false } },
      ],
    },
  },
  ...importDirection,
  {
    // Settings are read in config/, where they are parsed and documented; elsewhere process.env is only handed on
    // whole to a child process (filtered: engine/real/chromium-environment.ts).
    files: SERVICE_FOLDERS.map((folder) => `${folder}/**/*.ts`),
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.object.name='process'][object.property.name='env']",
          message: 'read settings in config/ (config/env.ts) and pass them in',
        },
      ],
    },
  },
  {
    // Tests read JSON bodies of HTTP answers as whatever the API sent; the assertions are their type check.
    files: ['tests/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
