#!/usr/bin/env bash
# Install the Debian packages Suijian needs, only those missing. Usage:
#   scripts/system-deps.sh run    # SpatiaLite, the Python toolchain, a CJK font (make run)
#   scripts/system-deps.sh test   # plus PostgreSQL+PostGIS and Redis (make test)
set -euo pipefail
profile=${1:-run}

# PDFs (on-site records, transfer letters) are drawn by WeasyPrint: Pango, HarfBuzz's subsetter
# (without it fonts carry a timestamp and the same record gives other bytes), the Chinese font
# and a monospace one for hashes.
packages=(python3 python3-venv python3-dev build-essential libsqlite3-mod-spatialite
    libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk fonts-dejavu-core)
# npm installs the browser files served from mobile_api/static/vendor/. A machine may already
# have Node.js from elsewhere (NodeSource ships its own npm, which Debian's npm conflicts
# with): only ask Debian for them when there is no npm at all.
if ! command -v npm >/dev/null 2>&1; then
    packages+=(nodejs npm)
fi
if [[ $profile == test || $profile == bench ]]; then
    # poppler-utils: tests render PDFs to images and read their text back.
    # librsvg2-bin: tests render the e-credential's QR code (SVG) to decode it.
    # chromium: the tablet app's browser tests (Playwright drives Debian's Chromium).
    packages+=(postgresql postgresql-postgis redis-server poppler-utils librsvg2-bin
        chromium chromium-driver)
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
