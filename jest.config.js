/** Tests are TypeScript run through ts-jest in transpile-only mode; `npm test` type-checks separately first. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  setupFilesAfterEnv: ['<rootDir>/test/helpers/teardown.ts'],
  testTimeout: 120000,
  // One worker: the machine has two cores and tfjs-wasm uses both per process.
  maxWorkers: 1,
};
