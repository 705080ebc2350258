#!/usr/bin/env bash
# ci-install-chromium.sh: install Debian's Chromium for the review console's
# browser test (pkg/console/browsertest) when /usr/bin/chromium is missing.
# Idempotent: does nothing when Chromium is already there.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
	echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
	exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
	SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo installed)"
