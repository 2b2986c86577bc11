#!/usr/bin/env node
// The `rmq` command. Runs the bundled CLI; on a fresh clone (no dist/ yet) it first builds it
// with `node tools/build-apps.mjs cli`, sending the build's output to stderr so stdout stays clean.
'use strict';
const { existsSync } = require('node:fs');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const main = path.join(__dirname, '../dist/main.js');
if (!existsSync(main)) {
  const root = path.join(__dirname, '../../..');
  const build = spawnSync(process.execPath, [path.join(root, 'tools/build-apps.mjs'), 'cli'], {
    cwd: root,
    stdio: ['ignore', process.stderr, process.stderr],
  });
  if (build.status !== 0 || !existsSync(main)) {
    process.stderr.write('error: could not build the rmq CLI (node tools/build-apps.mjs cli); see the messages above\n');
    process.exit(1);
  }
}
require(main);
