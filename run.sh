#!/usr/bin/env bash
# Starts RailCloud's local system on 127.0.0.1, installing what it needs first:
#   Azurite (Table Storage)      http://127.0.0.1:10002   (RAILCLOUD_AZURITE_PORT)
#   Web PubSub emulator          http://127.0.0.1:8080    (RAILCLOUD_WEBPUBSUB_PORT)
# Prints the URLs and connection strings; Ctrl+C stops everything it started.
set -uo pipefail
cd "$(dirname "$0")"
root=$(pwd)
azurite_port=${RAILCLOUD_AZURITE_PORT:-10002}
wps_port=${RAILCLOUD_WEBPUBSUB_PORT:-8080}
state="$root/.local"
mkdir -p "$state/azurite" "$state/logs"

die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }
command -v dotnet >/dev/null || die "the .NET 10 SDK is required (dotnet not on PATH)"
if ! command -v node >/dev/null; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq nodejs npm >/dev/null || die "Node.js is required and could not be installed"
fi
for port in "$azurite_port" "$wps_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port on 127.0.0.1 is already in use (another run.sh?); stop it or set RAILCLOUD_*_PORT"
  fi
done

echo "== installing npm packages"
npm ci --no-audit --no-fund --loglevel=error || die "npm ci failed"
echo "== building"
dotnet build RailCloud.sln -c Release -nologo -clp:ErrorsOnly -v:q || die "the build failed"

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "== stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  echo "stopped"
}
trap stop INT TERM EXIT

wait_for_port() { # name port pid
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || die "$1 exited during start-up; see $state/logs/$1.log"
    sleep 0.2
  done
  die "$1 did not start listening on port $2; see $state/logs/$1.log"
}

echo "== starting Azurite (tables)"
node_modules/.bin/azurite-table --tableHost 127.0.0.1 --tablePort "$azurite_port" --location "$state/azurite" --skipApiVersionCheck \
  >"$state/logs/azurite.log" 2>&1 &
pids+=($!)
wait_for_port azurite "$azurite_port" "$!"

echo "== starting the Web PubSub emulator"
dotnet tools/RailCloud.WebPubSubEmulator/bin/Release/net10.0/RailCloud.WebPubSubEmulator.dll --urls "http://127.0.0.1:$wps_port" \
  >"$state/logs/webpubsub.log" 2>&1 &
pids+=($!)
wait_for_port webpubsub "$wps_port" "$!"
for _ in $(seq 1 50); do
  wps_connection=$(sed -n 's/^ConnectionString: //p' "$state/logs/webpubsub.log" | head -n 1)
  [ -n "$wps_connection" ] && break
  sleep 0.1
done

cat <<INFO

RailCloud local system is up (logs in .local/logs/):
  Table Storage (Azurite)  http://127.0.0.1:$azurite_port/devstoreaccount1
    Storage__ConnectionString="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:$azurite_port/devstoreaccount1;"
  Web PubSub emulator      http://127.0.0.1:$wps_port
    WebPubSub__ConnectionString="$wps_connection"

Press Ctrl+C to stop.
INFO
wait -n "${pids[@]}"
echo "run.sh: a service exited; see $state/logs/" >&2
