#!/usr/bin/env bash
# Makes sure Chromium and its WebDriver are on this machine for the browser test, installing
# Debian's packages when they are missing. Never fails the build: without them the browser
# test is skipped and says why.
set -uo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
echo "Chromium not found: installing Debian's chromium and chromium-driver for the browser test" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo -n"; fi
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 \
       || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; }; }; then
  echo "Could not install Chromium: the browser test will be skipped" >&2
fi
exit 0
