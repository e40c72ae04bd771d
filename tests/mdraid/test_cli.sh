#!/bin/sh
. "$OPSKIT_SOURCE/tests/tap.sh"
tap_done
