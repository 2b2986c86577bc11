# Sourced by the ab-*.sh scripts: `<rounds> <bundle.js>... [-- extra run.mjs args]` into $rounds, the
# bundles array and the run_args array (what follows --, for peerbench's run.mjs).
rounds=$1; shift
bundles=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do bundles+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
run_args=("$@")
[ "${#bundles[@]}" -gt 0 ] || { echo "usage: $(basename "$0") <rounds> <bundle.js>... [-- extra run.mjs args]" >&2; exit 2; }
