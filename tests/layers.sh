#!/bin/sh
# The architecture's fitness function: no cycle in "uses a symbol defined
# in" between the modules of src/, read from the built objects with nm
# (build-aux/check-layers.py). On a cycle it prints the modules and one
# path round it, with the symbols on each edge, and fails.
set -eu
: "${AUTHGW_BUILDDIR:?}" "${AUTHGW_SRCDIR:?}"
exec "${PYTHON3:-python3}" "$AUTHGW_SRCDIR/build-aux/check-layers.py" \
    --graph "$AUTHGW_BUILDDIR"/src/*.o
