#!/usr/bin/env bash
# Starts RailCloud's local system on 127.0.0.1, installing what it needs first:
#   Azurite (Table Storage)      http://127.0.0.1:10002   (RAILCLOUD_AZURITE_PORT)
#   Web PubSub emulator          http://127.0.0.1:8080    (RAILCLOUD_WEBPUBSUB_PORT), events → the local host
#   RailCloud local host (API)   http://127.0.0.1:7071    (RAILCLOUD_API_PORT)
#   coturn (TURN/STUN)           127.0.0.1:3478           when turnserver is installed (RAILCLOUD_TURN_PORT)
# Creates the development accounts (see README), prints the URLs; Ctrl+C stops everything it started.
set -uo pipefail
cd "$(dirname "$0")"
root=$(pwd)
azurite_port=${RAILCLOUD_AZURITE_PORT:-10002}
wps_port=${RAILCLOUD_WEBPUBSUB_PORT:-8080}
api_port=${RAILCLOUD_API_PORT:-7071}
turn_port=${RAILCLOUD_TURN_PORT:-3478}
# Development-only secrets: fixed so restarts keep tokens valid; never used outside this machine.
signing_key="railcloud-local-development-signing-key-0123456789"
turn_secret="railcloud-local-turn-secret"
state="$root/.local"
mkdir -p "$state/azurite" "$state/logs"

die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }
command -v dotnet >/dev/null || die "the .NET 10 SDK is required (dotnet not on PATH)"
if ! command -v node >/dev/null; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq nodejs npm >/dev/null || die "Node.js is required and could not be installed"
fi
for port in "$azurite_port" "$wps_port" "$api_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port on 127.0.0.1 is already in use (another run.sh?); stop it or set RAILCLOUD_*_PORT"
  fi
done

scripts/npm-install.sh || die "npm ci failed"
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
node_modules/.bin/azurite-table --tableHost 127.0.0.1 --tablePort "$azurite_port" --location "$state/azurite" --skipApiVersionCheck --disableTelemetry \
  >"$state/logs/azurite.log" 2>&1 &
pids+=($!)
wait_for_port azurite "$azurite_port" "$!"

echo "== starting the Web PubSub emulator"
WebPubSub__Hubs__railcloud__EventHandlers__0__UrlTemplate="http://127.0.0.1:$api_port/api/webpubsub/{event}" \
WebPubSub__Hubs__railcloud__EventHandlers__0__SystemEvents="connect,connected,disconnected" \
WebPubSub__Hubs__railcloud__EventHandlers__0__EventPattern="*" \
dotnet tools/RailCloud.WebPubSubEmulator/bin/Release/net10.0/RailCloud.WebPubSubEmulator.dll --urls "http://127.0.0.1:$wps_port" \
  >"$state/logs/webpubsub.log" 2>&1 &
pids+=($!)
wait_for_port webpubsub "$wps_port" "$!"
for _ in $(seq 1 50); do
  wps_connection=$(sed -n 's/^ConnectionString: //p' "$state/logs/webpubsub.log" | head -n 1)
  [ -n "$wps_connection" ] && break
  sleep 0.1
done

storage_connection="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:$azurite_port/devstoreaccount1;"

turn_env=()
turn_line="  coturn                   not installed (apt-get install coturn); clients get no TURN relay"
if command -v turnserver >/dev/null; then
  echo "== starting coturn"
  sed -e "s/@LISTEN_IP@/127.0.0.1/g" -e "s/@PORT@/$turn_port/g" -e "s/@SECRET@/$turn_secret/g" -e "s/@REALM@/railcloud.local/g" \
    infra/coturn/turnserver.conf.template > "$state/turnserver.conf"
  cat infra/coturn/local.conf >> "$state/turnserver.conf"
  turnserver -c "$state/turnserver.conf" --log-file stdout >"$state/logs/coturn.log" 2>&1 &
  pids+=($!)
  turn_env=(Turn__Urls="turn:127.0.0.1:$turn_port?transport=udp,turn:127.0.0.1:$turn_port?transport=tcp" Turn__Secret="$turn_secret" Stun__Urls="stun:127.0.0.1:$turn_port")
  turn_line="  coturn (TURN/STUN)       127.0.0.1:$turn_port (udp and tcp; TURN REST credentials from /api/negotiate)"
fi

# Every local client (simulators, load test) logs in from 127.0.0.1, so the per-address login limit is raised.
echo "== starting the RailCloud local host"
env Storage__ConnectionString="$storage_connection" WebPubSub__ConnectionString="$wps_connection" WebPubSub__Hub=railcloud \
  Auth__SigningKey="$signing_key" Auth__LoginsPerMinutePerAddress=1000 Dev__SeedAccounts=true "${turn_env[@]}" \
  dotnet functions/RailCloud.LocalHost/bin/Release/net10.0/RailCloud.LocalHost.dll --urls "http://127.0.0.1:$api_port" \
  >"$state/logs/localhost.log" 2>&1 &
pids+=($!)
wait_for_port localhost "$api_port" "$!"

cat <<INFO

RailCloud local system is up (logs in .local/logs/):
  Monitor dashboard        http://127.0.0.1:$api_port/monitor
  Kiosk page               http://127.0.0.1:$api_port/kiosk
  API (local host)         http://127.0.0.1:$api_port/api   (health: http://127.0.0.1:$api_port/api/health)
  Web PubSub emulator      http://127.0.0.1:$wps_port
    WebPubSub__ConnectionString="$wps_connection"
  Table Storage (Azurite)  http://127.0.0.1:$azurite_port/devstoreaccount1
    Storage__ConnectionString="$storage_connection"
$turn_line

Development accounts: KIOSK_01..KIOSK_03 / kiosk-dev-pass, MONITOR_01 / monitor-dev-pass, SUPERVISOR_01 / supervisor-dev-pass
Open the kiosk page (it asks for the camera) and the monitor dashboard in two browser windows, sign in, and press
"Start monitoring". Signed in as SUPERVISOR_01, the dashboard's Supervisor console makes enrolment codes: open the
code's URL as the kiosk page and that browser signs in by itself from then on. Or try the simulators:
  dotnet run --project clients/RailCloud.Cli -- kiosk --id KIOSK_01 --password kiosk-dev-pass --placeholder
  dotnet run --project clients/RailCloud.Cli -- monitor --id MONITOR_01 --password monitor-dev-pass --watch KIOSK_01

Press Ctrl+C to stop.
INFO
wait -n "${pids[@]}"
echo "run.sh: a service exited; see $state/logs/" >&2
