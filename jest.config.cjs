// One jest run over every project, for `npx jest <path>` from the root. `npm test` and CI run each
// project's own jest config through nx instead (tools/test.mjs, tools/test-project.mjs).
module.exports = {
  // testTimeout is a global option: the presets' value does not apply to a multi-project run.
  testTimeout: 30_000,
  projects: ['<rootDir>/libs/*/jest.config.cjs', '<rootDir>/apps/*/jest.config.cjs', '<rootDir>/tools/jest.config.cjs'],
};
