#!/bin/bash
# placeholder
. "${TOP_SRCDIR}/tests/lib/tap.sh"
skip_all "not written yet"
