#!/usr/bin/env bash
# bench/gpu/tree.sh slim|restore: keeps the shipped models' weights (about 100 MB of tracked files)
# from travelling to a GPU machine, whose tool sends the working tree (tracked files and untracked
# ones git does not ignore) and the carried bundle, 64 MiB at most. run.sh does not need them: it
# benchmarks random weights of the same shapes.
#   slim     untracks every tracked file over 1 MiB in the index only (the files stay on disk) and
#            ignores them in .git/info/exclude; nothing is committed
#   restore  puts the index back (`git reset` of those paths) and drops those exclude lines
# Run restore right after the GPU run, before any commit.
set -euo pipefail
cd "$(dirname "$0")/../.."
begin='# banter bench/gpu/tree.sh slim: begin'
end='# banter bench/gpu/tree.sh slim: end'
exclude=$(git rev-parse --git-path info/exclude)
case "${1:-}" in
  slim)
    mapfile -t large < <(git ls-files -z | xargs -0 sh -c 'find "$@" -maxdepth 0 -size +1M' find)
    [ ${#large[@]} -gt 0 ] || { echo "tree.sh: no tracked file over 1 MiB"; exit 0; }
    git rm -q --cached -- "${large[@]}"
    { echo "$begin"; printf '/%s\n' "${large[@]}"; echo "$end"; } >>"$exclude"
    echo "tree.sh: left ${#large[@]} files out of what travels: ${large[*]}"
    ;;
  restore)
    mapfile -t large < <(sed -n "\|^$begin\$|,\|^$end\$|{\|^#|d; s|^/||; p}" "$exclude" 2>/dev/null)
    [ ${#large[@]} -gt 0 ] || { echo "tree.sh: nothing to restore"; exit 0; }
    git reset -q -- "${large[@]}"
    sed -i "\|^$begin\$|,\|^$end\$|d" "$exclude"
    echo "tree.sh: restored ${#large[@]} files"
    ;;
  *)
    echo "usage: bench/gpu/tree.sh slim|restore" >&2
    exit 2
    ;;
esac
