#!/usr/bin/env bash
# Runs RailCloud's whole test suite, installing what it needs first (npm packages; Chromium, coturn, GStreamer
# and, if missing, Node.js from Debian).
# Ends with one line: "N passed, N failed, N skipped", summed over every test project's TRX file.
set -uo pipefail
cd "$(dirname "$0")"
root=$(pwd)
results="$root/.artifacts/test-results"

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'test.sh: %s\n' "$*" >&2; echo "0 passed, 1 failed, 0 skipped"; exit 1; }

apt_install() {
  # Debian packages the tests need; CI's machine is fresh, so install rather than skip.
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || fail "missing Debian packages (${missing[*]}) and no apt-get to install them"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  step "apt-get install ${missing[*]}"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null \
    || fail "apt-get install ${missing[*]} failed"
}

command -v dotnet >/dev/null || fail "the .NET 10 SDK is required (dotnet not on PATH)"
command -v node >/dev/null || apt_install nodejs npm
# The browser tests drive Debian's Chromium (fake camera) and relay video through Debian's coturn; the native
# peers (clients/RailCloud.Media) stream and receive VP8 with Debian's GStreamer and its webrtcbin.
apt_install chromium coturn gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-nice gstreamer1.0-tools

scripts/npm-install.sh || fail "npm ci failed"

step "dotnet build (Release, warnings are errors)"
dotnet build RailCloud.sln -c Release -nologo -clp:ErrorsOnly || fail "the build failed"

rm -rf "$results"
mkdir -p "$results"
status=0
for project in $(find tests -name '*.Tests.csproj' | sort); do
  name=$(basename "$project" .csproj)
  step "dotnet test $name"
  dotnet test "$project" -c Release --no-build --nologo \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=minimal" \
    --results-directory "$results" || status=1
done

passed=0; failed=0; skipped=0; files=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  get() { printf '%s' "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get notExecuted)))
done
[ "$files" -gt 0 ] || { status=1; failed=$((failed + 1)); echo "no test results were written"; }
[ "$passed" -gt 0 ] || status=1
[ "$failed" -eq 0 ] || status=1
echo
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
