#!/usr/bin/env bash
# Installs the Debian packages the tests and benchmarks use, when they are missing:
#   xz-utils, zstd   decompress the cache traces in ../shared/traces
#   redis-server, redis-tools   the reference server, redis-cli and redis-benchmark
#   redis-sentinel   Redis Sentinel, which the tests point at shardcache
set -euo pipefail
need=()
command -v xz >/dev/null || need+=(xz-utils)
command -v zstd >/dev/null || need+=(zstd)
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v redis-sentinel >/dev/null || need+=(redis-sentinel)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "system-deps: please install: ${need[*]} (apt-get install ${need[*]})" >&2; exit 1
  fi
else SUDO=; fi
echo "system-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts a redis-server service on 6379 (and a sentinel on 26379) on install; the tests
# start their own.
if command -v service >/dev/null; then
  $SUDO service redis-server stop >/dev/null 2>&1 || true
  $SUDO service redis-sentinel stop >/dev/null 2>&1 || true
fi
