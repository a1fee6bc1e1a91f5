#!/usr/bin/env bash
# One MPI rank of scripts/test's MPI tests (started by mpirun): rank 0 prints
# as usual; another rank's output is shown only when that rank fails, so a
# failure on one rank alone still says what failed without every report twice.
rank=${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-0}}
if [ "$rank" = 0 ]; then exec "$@"; fi
log=$(mktemp)
"$@" > "$log" 2>&1
rc=$?
if [ $rc != 0 ]; then
  echo "--- rank $rank failed (exit $rc):"
  cat "$log"
fi
rm -f "$log"
exit $rc
