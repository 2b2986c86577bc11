// One jest run over every project (what `npm test` and CI use); each project also runs alone via nx.
module.exports = {
  // testTimeout is a global option: the presets' value does not apply to a multi-project run.
  testTimeout: 30_000,
  projects: ['<rootDir>/libs/*/jest.config.cjs', '<rootDir>/apps/*/jest.config.cjs', '<rootDir>/tools/jest.config.cjs'],
};
