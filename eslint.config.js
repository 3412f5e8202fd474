import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'native/build/**', '.cache/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // plain Node ESM scripts (no TypeScript types to tell eslint what the Node globals are)
    files: ['scripts/**/*.mjs'],
    languageOptions: {
      globals: { console: 'readonly', process: 'readonly', URL: 'readonly', Buffer: 'readonly' },
    },
  },
  {
    files: ['cdi/**/*.ts', 'policy/**/*.ts', 'attestation/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/src/**'], message: 'libraries never import from src/' }] },
      ],
    },
  },
  {
    files: ['src/agent/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '../shim/**',
                '../sandbox/**',
                '../config/**',
                '../hypervisor/**',
                '../devices/**',
                '../agent-client/**',
                '../cli/**',
                '../guest-image/**',
              ],
              message: 'guest code never imports host code',
            },
          ],
        },
      ],
    },
  },
);
