#!/usr/bin/env bash
# Installs what building runbook needs when it is missing (Debian/Ubuntu).
# Sourced by scripts/demo.sh and scripts/test.sh.
set -euo pipefail

need_packages=()
if ! { pkg-config --exists libedit 2>/dev/null || [ -f /usr/include/editline/readline.h ]; }; then
  need_packages+=(libedit-dev)
fi
command -v pkg-config >/dev/null 2>&1 || need_packages+=(pkg-config)
# `ip netns` for the tests that prove no credential leaves in clear.
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || need_packages+=(iproute2)

if [ ${#need_packages[@]} -gt 0 ]; then
  echo "bootstrap: installing ${need_packages[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo_cmd=(); else sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need_packages[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
  echo "bootstrap: swift is not on PATH; install Swift 6 (https://www.swift.org/install/linux/) and retry" >&2
  exit 2
fi
