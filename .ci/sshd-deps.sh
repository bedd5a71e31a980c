#!/bin/sh
# Installs an sshd for the ssh:// engine tests, only if missing. The tests start their own
# sshd on a free port with their own host key and config (tests/engines.py PrivateSshd);
# the package's own service must not start: a policy-rc.d that denies every start is in
# place during the install (unless one exists already, which then decides).
set -eu

if command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ]; then
    echo "sshd-deps: sshd is installed"
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
policy=/usr/sbin/policy-rc.d
ours=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# no service starts while the tests install packages\nexit 101\n' |
        $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    ours=1
fi
echo "sshd-deps: installing openssh-server (its service stays stopped)"
$sudo apt-get update
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    openssh-server openssh-client
if [ -n "$ours" ]; then
    $sudo rm -f "$policy"
fi
