#!/usr/bin/env bash
# The admin UI's end-to-end tests: a real headless Chromium driven through WebDriver
# (chromedriver) against the real server (crates/roster-web/tests/admin). Installs
# Debian's chromium and chromium-driver when missing (no browser download), starts
# chromedriver, runs the suite. Screenshots of every screen visited land in
# target/screenshots/. Extra arguments go to the test binary (a test name filter...).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "== installing chromium and chromium-driver"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium chromium-driver
fi

# axe-core, the accessibility checker the tests run on every screen: from the npm
# registry into target/ (test tooling only; the product never serves it).
axe_version="4.14.1"
axe="target/axe/node_modules/axe-core/axe.min.js"
if ! grep -qs "\"version\": \"$axe_version\"" target/axe/node_modules/axe-core/package.json; then
    echo "== installing axe-core $axe_version from npm"
    if ! command -v npm >/dev/null; then
        sudo=""
        if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
        $sudo apt-get update -q
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q npm
    fi
    mkdir -p target/axe
    npm install --no-save --no-audit --no-fund --prefix target/axe "axe-core@$axe_version"
fi
export ROSTER_AXE_JS="$PWD/$axe"

port="${ROSTER_WEBDRIVER_PORT:-9515}"
mkdir -p target/screenshots
chromedriver --port="$port" --allowed-ips=127.0.0.1 >target/chromedriver.log 2>&1 &
driver=$!
trap 'kill "$driver" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
    curl -sf "http://127.0.0.1:$port/status" >/dev/null && break
    sleep 0.2
done
curl -sf "http://127.0.0.1:$port/status" >/dev/null || { echo "chromedriver did not start; see target/chromedriver.log"; exit 1; }

echo "== browser tests ($(chromium --version))"
export ROSTER_BROWSER_TESTS=1
export ROSTER_WEBDRIVER_URL="http://127.0.0.1:$port"
export CHROME_BIN="${CHROME_BIN:-$(command -v chromium)}"
# One browser at a time: they are heavy, and the machine is shared.
cargo test -p roster-web --test admin --locked -- --test-threads=1 "$@"
echo "screenshots: target/screenshots/"
