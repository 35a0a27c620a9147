#!/bin/bash
# Configures coturn on the TURN VM and (re)starts it when its configuration changed.
# Run by the VM's run command at every provisioning (infra/app/turnconfig.bicep), and by hand after rotating the
# TURN secret:  az vm run-command invoke -g <rg> -n <vm> --command-id RunShellScript --scripts /usr/local/sbin/railcloud-turn-setup
# Reads the secret with the VM's managed identity, retrying while its Key Vault role propagates.
#
# The RAILCLOUD_* variables below exist so the offline rehearsal (tests/RailCloud.Infra.Tests) can run this same
# script on loopback against stand-ins for the metadata service and Key Vault; on the VM none of them is set.
set -euo pipefail
vault="${RAILCLOUD_VAULT:-__VAULT__}"
client_id="${RAILCLOUD_CLIENT_ID:-__CLIENT_ID__}"
realm="${RAILCLOUD_REALM:-__REALM__}"
# The VM's public address as the template knows it (turn.bicep's static IP). The metadata service can answer an empty
# public address for a Standard SKU IP, and coturn with an empty external-ip hands out 0.0.0.0 relay addresses.
public_ip="${RAILCLOUD_PUBLIC_IP-__PUBLIC_IP__}"
imds="${RAILCLOUD_IMDS_URL:-http://169.254.169.254/metadata}"
vault_url="${RAILCLOUD_VAULT_URL:-https://$vault.vault.azure.net}"
etc="${RAILCLOUD_ETC:-/etc}"
template="${RAILCLOUD_TEMPLATE:-/etc/coturn/railcloud.conf.template}"
port="${RAILCLOUD_TURN_PORT:-3478}"
tls_port="${RAILCLOUD_TURN_TLS_PORT:-443}"
group="${RAILCLOUD_TURN_GROUP:-turnserver}"
# 0 in the rehearsal: no apt-get, no systemd; just render the configuration.
manage_service="${RAILCLOUD_MANAGE_SERVICE:-1}"
attempts="${RAILCLOUD_RETRY_ATTEMPTS:-30}"
first_delay="${RAILCLOUD_RETRY_DELAY:-2}"

log() { printf 'railcloud-turn-setup: %s\n' "$*" >&2; }

# curl with backoff: a new VM identity's Key Vault role can take minutes to reach the vault (403 until then).
fetch() { # description url [curl args...]
  local what="$1" url="$2" delay="$first_delay" out
  shift 2
  for attempt in $(seq 1 "$attempts"); do
    if out=$(curl -sSf --max-time 10 "$@" "$url" 2>/tmp/railcloud-curl.err); then
      printf '%s' "$out"
      return 0
    fi
    log "reading $what failed (attempt $attempt of $attempts: $(tr -d '\n' </tmp/railcloud-curl.err)); retrying in ${delay}s"
    sleep "$delay"
    delay=$((delay * 2 > 60 ? 60 : delay * 2))
  done
  log "giving up on $what after $attempts attempts"
  return 1
}

is_ipv4() { # a dotted quad, each part 0–255, and nothing else
  local part parts
  [[ "$1" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || return 1
  IFS=. read -r -a parts <<< "$1"
  for part in "${parts[@]}"; do [ "$((10#$part))" -le 255 ] || return 1; done
}

json_field() { # field: prints the JSON string field from stdin (jq, which the VM gets; python3 where jq is missing)
  if command -v jq >/dev/null; then jq -er ".$1"; else python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; fi
}

if [ "$manage_service" = 1 ]; then
  # Debian's coturn starts on install with its default configuration, which relays for anybody. Keep the unit
  # masked until the hardened configuration below is in place.
  missing=()
  for pkg in coturn curl jq openssl unattended-upgrades; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if [ ${#missing[@]} -gt 0 ]; then
    case " ${missing[*]} " in *" coturn "*) systemctl mask coturn.service ;; esac
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -q
    apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}"
  fi
fi


token=$(fetch "a Key Vault token from the VM identity" \
  "$imds/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net&client_id=$client_id" \
  -H Metadata:true | json_field access_token)
secret=$(fetch "the turn-secret from Key Vault" "$vault_url/secrets/turn-secret?api-version=7.4" \
  -H "Authorization: Bearer $token" | json_field value)
private_ip=$(fetch "the private address" "$imds/instance/network/interface/0/ipv4/ipAddress/0/privateIpAddress?api-version=2021-02-01&format=text" -H Metadata:true)
if [ -z "$public_ip" ]; then
  # No address from the template (a VM set up by hand): ask the metadata service, which may answer empty.
  public_ip=$(fetch "the public address" "$imds/instance/network/interface/0/ipv4/ipAddress/0/publicIpAddress?api-version=2021-02-01&format=text" -H Metadata:true)
fi

# Stop loudly rather than configure a relay that hands out addresses nobody can reach.
described() { if [ -z "$1" ]; then echo "empty"; else echo "not an IPv4 address: '$1'"; fi; }
if ! is_ipv4 "$public_ip"; then
  log "the VM's public address is $(described "$public_ip"); coturn needs it for external-ip (the address in its relay candidates). Nothing was changed. Check the VM's public IP resource (pip-turn-…) and provision again."
  exit 1
fi
if ! is_ipv4 "$private_ip"; then
  log "the VM's private address from the metadata service is $(described "$private_ip"); nothing was changed."
  exit 1
fi

case "$secret" in
  "" | *$'\n'* | *$'\r'* | [[:space:]]* | *[[:space:]]) log "turn-secret is empty or has line breaks or surrounding spaces, which coturn's configuration cannot hold"; exit 1 ;;
esac

install -d -m 750 -g "$group" "$etc/coturn/tls"
if [ ! -f "$etc/coturn/tls/fullchain.pem" ]; then
  # A self-signed certificate until an operator installs a trusted one (README, "TURN over TLS").
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=$realm" -addext "subjectAltName=DNS:$realm" \
    -keyout "$etc/coturn/tls/privkey.pem" -out "$etc/coturn/tls/fullchain.pem" 2>/dev/null
  chgrp "$group" "$etc/coturn/tls/"*.pem && chmod 640 "$etc/coturn/tls/"*.pem
fi

# The secret is written as data, never through sed or a shell pattern: '&', '|' or '\' in it stay as they are.
new="$etc/turnserver.conf.new"
(
  umask 027
  grep -v '^static-auth-secret=' "$template" | sed -e "s|@LISTEN_IP@|$private_ip|g" -e "s|@PORT@|$port|g" \
    -e "s|@TLS_PORT@|$tls_port|g" -e "s|@REALM@|$realm|g" -e "s|@PUBLIC_IP@|$public_ip|g" \
    -e "s|@PRIVATE_IP@|$private_ip|g" -e "s|@CERT_DIR@|$etc/coturn/tls|g" > "$new"
  printf 'static-auth-secret=%s\n' "$secret" >> "$new"
)
chgrp "$group" "$new"
changed=1
if cmp -s "$new" "$etc/turnserver.conf"; then changed=0; fi
mv "$new" "$etc/turnserver.conf"
log "configuration written to $etc/turnserver.conf (changed: $changed)"

if [ "$manage_service" = 1 ]; then
  # coturn runs as turnserver; it may bind 443 through this drop-in (a capability on the binary would be lost on
  # the next package upgrade).
  install -d "$etc/systemd/system/coturn.service.d"
  printf '[Service]\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n' > "$etc/systemd/system/coturn.service.d/railcloud.conf"
  systemctl daemon-reload
  systemctl unmask coturn.service
  systemctl enable coturn.service
  if [ "$changed" = 1 ] || ! systemctl is-active --quiet coturn.service; then
    systemctl restart coturn.service
    log "coturn restarted"
  fi
  systemctl is-active --quiet coturn.service || { log "coturn is not running; see journalctl -u coturn"; exit 1; }
fi

# Security updates: Debian's own unattended upgrades, every day, rebooting at 04:00 (UTC on Azure's images) when an
# update needs it. Azure's automatic guest patching supports no Debian image, so the VM's patch mode is ImageDefault
# (infra/app/turn.bicep) and this is how it stays patched.
install -d "$etc/apt/apt.conf.d"
cat > "$etc/apt/apt.conf.d/52railcloud-upgrades" <<'APT'
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
Unattended-Upgrade::Automatic-Reboot "true";
Unattended-Upgrade::Automatic-Reboot-Time "04:00";
APT
if [ "$manage_service" = 1 ]; then
  systemctl enable --now apt-daily.timer apt-daily-upgrade.timer
fi
