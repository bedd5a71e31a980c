#!/usr/bin/env bash
# Brings up one Supabase project with `pulumi up` on the local file state backend.
# Usage: bash scripts/up.sh [stack]   (default stack: dev, from stacks/Pulumi.dev.yaml)
# Needs Docker and the Pulumi CLI. State lives in $SUPABASE_FLEET_HOME (default
# ~/.supabase-fleet, created 0700). The passphrase policy is the fleet tool's
# (automation/settings.py): PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE when
# set, else a passphrase generated once into the home with mode 0600.
set -euo pipefail
cd "$(dirname "$0")/.."
stack="${1:-dev}"

for tool in docker pulumi python3; do
  command -v "$tool" >/dev/null || { echo "missing prerequisite: $tool (see README.md)" >&2; exit 1; }
done

home="${SUPABASE_FLEET_HOME:-$HOME/.supabase-fleet}"
(umask 077 && mkdir -p "$home")
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$home/state}"
case "$PULUMI_BACKEND_URL" in file://*) mkdir -p "${PULUMI_BACKEND_URL#file://}" ;; esac
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  if [ ! -s "$home/passphrase" ]; then
    (umask 077 && set -o noclobber &&
      python3 -c 'import secrets; print(secrets.token_urlsafe(32))' >"$home/passphrase")
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$home/passphrase"
fi

python3 -m venv .venv
.venv/bin/python -m pip install --quiet -r requirements.txt

pulumi stack select --create "$stack" --non-interactive
pulumi up --yes --stack "$stack"
pulumi stack output --stack "$stack"
echo "secrets: pulumi stack output --stack $stack --show-secrets (same env as above)"
