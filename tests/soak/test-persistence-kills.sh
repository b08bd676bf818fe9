#!/usr/bin/env bash
#
# test-persistence-kills (make soak): tests/integration/test-persistence.sh
# with netpoold killed (SIGKILL) in the middle of a stream of writes
# SOAK_ITERATIONS times (default 50) instead of make check's 3: every
# acknowledged write is still there.
NETPOOL_TEST_KILLS=${SOAK_ITERATIONS:-50} \
    exec bash "$(dirname "$0")/../integration/test-persistence.sh"
