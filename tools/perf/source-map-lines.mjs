// For the profile summaries: which source file each line of a bundle comes from, read from the
// bundle's source map (the first mapping of each generated line; VLQ decoding, no dependency).
import { existsSync, readFileSync } from 'node:fs';

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Generated line (0-based) -> source file of its first mapping; undefined when `mapPath` does not exist. */
export function sourceLinesOf(mapPath) {
  if (!existsSync(mapPath)) return undefined;
  const map = JSON.parse(readFileSync(mapPath, 'utf8'));
  const lines = [];
  let source = 0;
  map.mappings.split(';').forEach((line, index) => {
    let first;
    for (const segment of line.split(',')) {
      if (!segment) continue;
      const fields = [];
      let value = 0;
      let shift = 0;
      for (const char of segment) {
        const digit = BASE64.indexOf(char);
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else {
          fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      if (fields.length >= 4) {
        source += fields[1]; // relative to the previous segment's source, across lines
        first ??= source;
      }
    }
    lines[index] = first === undefined ? undefined : map.sources[first];
  });
  return lines;
}
