// ESLint (flat config) with typescript-eslint's recommended rules, not the type-checked ones
// (for speed). The linter lives in tools/lint (its own package and lockfile; scripts/setup.sh
// installs it): typescript-eslint parses with TypeScript's JS API, which the root's
// TypeScript 7 does not have, so it gets a TypeScript 5 of its own there.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const lintRequire = createRequire(new URL('./tools/lint/package.json', import.meta.url));
const load = async (name) => (await import(pathToFileURL(lintRequire.resolve(name)).href)).default;
const js = await load('@eslint/js');
const tseslint = await load('typescript-eslint');

export default tseslint.config(
  { ignores: ['dist/', 'dist-bench/', 'node_modules/', 'tools/lint/node_modules/', 'src/cri/generated/', 'src/csi/generated/', 'native/build/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly',
        clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly',
        clearImmediate: 'readonly', queueMicrotask: 'readonly', structuredClone: 'readonly', AbortController: 'readonly',
        AbortSignal: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', fetch: 'readonly', performance: 'readonly',
        URLSearchParams: 'readonly', Response: 'readonly', Request: 'readonly', Headers: 'readonly',
        NodeJS: 'readonly',
      },
    },
    rules: {
      // A leading underscore marks a binding kept on purpose (destructured away, or a handler's
      // parameter the signature requires).
      '@typescript-eslint/no-unused-vars': ['error', {
        argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_',
      }],
    },
  },
);
