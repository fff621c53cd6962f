#!/bin/sh
# Usage: prune-deploy.sh DIR...
# Shrinks `pnpm deploy --prod` directories: removes from their node_modules what Node never
# loads at run time (type declarations, source maps, READMEs and changelogs). Licenses stay.
set -eu
for dir in "$@"; do
  find "$dir/node_modules" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
    -o -name '*.map' -o -name '*.tsbuildinfo' -o -iname 'README*' -o -iname 'CHANGELOG*' \) -delete
done
