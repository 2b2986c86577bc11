module.exports = { ...require('../../jest.preset.cjs'), displayName: 'name-server' };
