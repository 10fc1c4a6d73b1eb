#!/bin/sh
# Stands in for mm32d in test_harness.py: prints what UndefinedBehaviorSanitizer prints when
# MM32_FAKE_REPORT=1, then runs the real daemon ($MM32D_REAL) with the same arguments.
if [ "${MM32_FAKE_REPORT:-}" = 1 ]; then
	echo "../api/example.c:1:1: runtime error: signed integer overflow: 9223372036854775807 + 1 cannot be represented in type 'long'" >&2
fi
exec "${MM32D_REAL:?}" "$@"
