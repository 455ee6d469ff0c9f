#!/usr/bin/env bash
# Install the Debian packages Suijian needs, only those missing. Usage:
#   scripts/system-deps.sh run    # SpatiaLite and the Python toolchain (make run)
#   scripts/system-deps.sh test   # plus PostgreSQL+PostGIS and Redis (make test)
set -euo pipefail
profile=${1:-run}

packages=(python3 python3-venv python3-dev build-essential libsqlite3-mod-spatialite)
if [[ $profile == test || $profile == bench ]]; then
    packages+=(postgresql postgresql-postgis redis-server)
fi

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if (( ${#missing[@]} == 0 )); then
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
