// The linter's rules for the whole tree: typescript-eslint's recommended set, plus the few places
// where CommonJS require() is the point (optional or native packages loaded on demand).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'checkpoints/', 'datasets/', 'runs/', 'bench-results/', 'sr-demo/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly', console: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    // Loaded on demand: optional backends, ONNX Runtime's binding, wasm glue, commands by name.
    files: ['src/runtime/**/*.ts', 'src/cli/commands/index.ts', 'test/**/*.ts', 'test/**/*.js', '*.cjs', 'bin/*'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Tests read JSON printed by child processes.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
