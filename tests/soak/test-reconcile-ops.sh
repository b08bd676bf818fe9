#!/usr/bin/env bash
#
# test-reconcile-ops (make soak): tests/integration/test-reconcile.sh with
# 20 x SOAK_ITERATIONS random operations (1000 by default, make check runs
# 100) between its checkpoints against a full recompute.
NETPOOL_TEST_OPS=$((20 * ${SOAK_ITERATIONS:-50})) \
    exec bash "$(dirname "$0")/../integration/test-reconcile.sh"
