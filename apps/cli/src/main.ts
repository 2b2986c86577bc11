// Entry point of the rmq command line (bin/rmq.js loads the bundle of this file).
import { processIo } from './io';
import { runCli } from './program';

void runCli(process.argv.slice(2), processIo).then((exitCode) => {
  // Set, not process.exit(): stdout may still be draining into a pipe.
  process.exitCode = exitCode;
});
