#!/bin/sh
# ci-install-chrony.sh installs Debian's chrony so that pkg/ntp's integration
# test (chrony_test.go) can start chronyd in local mode on a loopback port.
# Idempotent: does nothing when chronyd is already installed. The package's
# own service is never left running: the test starts its own chronyd with a
# private configuration and must not compete with a system one.
set -eu

if command -v chronyd >/dev/null 2>&1; then
	exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi

# Keep maintainer scripts from starting the service (Debian policy-rc.d
# protocol: exit 101 = action forbidden). Only our own file is removed again.
ours=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod 755 /usr/sbin/policy-rc.d
	ours=1
fi
cleanup() {
	if [ -n "$ours" ]; then
		$SUDO rm -f /usr/sbin/policy-rc.d
	fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chrony

# On hosts with systemd the unit may still have been started; stop it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet chrony 2>/dev/null; then
	$SUDO systemctl stop chrony || true
fi
if [ -s /run/chrony/chronyd.pid ]; then
	pid=$(cat /run/chrony/chronyd.pid)
	if kill -0 "$pid" 2>/dev/null; then
		$SUDO kill "$pid" || true
	fi
fi

command -v chronyd >/dev/null
