#!/usr/bin/env bash
# Creates the boilerplate of a workspace project: tools/make-project.sh libs/store layer:domain "what it owns"
set -euo pipefail
dir=$1; tag=$2; desc=$3
name=$(basename "$dir")
mkdir -p "$dir/src"
if [[ $dir == apps/* ]]; then build='"build": "node ../../tools/build-apps.mjs '"$name"'",'; else build=''; fi
cat > "$dir/package.json" <<JSON
{
  "name": "@rmq/$name",
  "version": "0.1.0",
  "private": true,
  "description": "$desc",
  "main": "src/index.ts",
  "types": "src/index.ts",
  "scripts": {
    $build
    "typecheck": "tsc -p tsconfig.json",
    "test": "jest --passWithNoTests"
  },
  "nx": { "tags": ["$tag"] }
}
JSON
cat > "$dir/tsconfig.json" <<JSON
{
  "extends": "../../tsconfig.base.json",
  "include": ["src/**/*.ts", "test/**/*.ts"]
}
JSON
cat > "$dir/jest.config.cjs" <<JSON
module.exports = { ...require('../../jest.preset.cjs'), displayName: '$name' };
JSON
