#!/bin/sh
# Installs the Debian packages the test suite needs when they are missing.
# As root it installs them; otherwise it fails loudly and says how to fix it.
set -e
need=""
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need="$need postgresql"
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || need="$need redis-server"
command -v msgfmt >/dev/null 2>&1 || need="$need gettext"
[ -x /usr/bin/chromium ] || need="$need chromium"
[ -z "$need" ] && exit 0
if [ "$(id -u)" = "0" ]; then
    echo "Installing Debian packages:$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq $need >/dev/null
else
    echo "*** Missing Debian packages:$need" >&2
    echo "*** Fix: sudo apt-get install -y$need" >&2
    exit 2
fi
