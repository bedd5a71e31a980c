#!/bin/sh
# Installs the Debian packages the tests need, only those missing, with one apt-get update:
#   dockerd (docker.io) and a static busybox: private engines and their test image
#     (a dockerd already there, docker-ce or moby, is kept: docker.io would conflict);
#   openssh-server: the ssh:// engine tests start their own sshd; the package's service
#     never starts (a policy-rc.d denies every start during the install);
#   postgresql: the rendered init SQL runs on a real PostgreSQL;
#   debootstrap: the backup tests build a PostgreSQL 15 image, since none can be pulled;
#   elixir: parses and runs the rendered Supavisor pooler.exs;
#   nodejs, npm: run the rendered edge-functions main;
#   pebble, curl: the edge proxy gets real certificates from an ACME test CA.
set -eu

missing=""
need() {  # need COMMAND PACKAGE...: queue PACKAGEs when COMMAND is not installed
    command_name=$1
    shift
    command -v "$command_name" >/dev/null 2>&1 || [ -x "/usr/sbin/$command_name" ] ||
        missing="$missing $*"
}
need dockerd docker.io
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing busybox-static"
need sshd openssh-server openssh-client
need pg_ctlcluster postgresql
need debootstrap debootstrap
need elixir elixir
need npm nodejs npm
need pebble pebble
need curl curl

if [ -z "$missing" ]; then
    echo "system-deps: everything is installed"
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
echo "system-deps: installing$missing"
$sudo apt-get update -qq
# shellcheck disable=SC2086 # $missing is a list of package names
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
if [ -n "$ours" ]; then
    $sudo rm -f "$policy"
fi
