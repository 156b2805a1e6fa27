#!/bin/sh
# Fails when C code under shared/, fcgi-app/, push-daemon/ or ctl/ calls a function
# we do not use: unbounded or error-prone ones, as curl's checksrc bans.
top=${top_srcdir:-$(dirname "$0")/../..}
banned='\<(sprintf|vsprintf|strcpy|strcat|strncpy|strncat|strtok|atoi|atol|gets)[[:space:]]*\('
if grep -nE "$banned" "$top"/shared/*.c "$top"/fcgi-app/*.c \
    $(ls "$top"/push-daemon/*.c "$top"/ctl/*.c 2>/dev/null); then
	echo "banned function used (see above)" >&2
	exit 1
fi
echo "no banned function used"
