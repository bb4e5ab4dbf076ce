#!/usr/bin/env bash
# The browser of the UI tests (tests/e2e/test_pipeline.py drives it with Playwright): Debian's
# chromium, installed with apt when missing and when run as root. Playwright never downloads a
# browser here (`playwright install` needs the internet); the tests skip when none is found.
set -u
BROWSER="${NDC_CHROMIUM:-/usr/bin/chromium}"
[ -x "$BROWSER" ] && exit 0
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "browser: installing Debian's chromium"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } \
    || echo "browser: chromium could not be installed; the browser tests will skip" >&2
else
  echo "browser: $BROWSER is missing (install Debian's chromium as root); the browser tests will skip" >&2
fi
exit 0
