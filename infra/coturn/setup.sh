#!/bin/bash
# Renders coturn's configuration on the TURN VM and (re)starts it. Run by cloud-init at first boot; run it again
# after rotating the TURN secret in Key Vault. Reads the secret with the VM's managed identity (no keys on disk
# other than coturn's own config, readable by root and turnserver only).
set -euo pipefail
vault="__VAULT__"
client_id="__CLIENT_ID__"
realm="__REALM__"
imds="http://169.254.169.254/metadata"
token=$(curl -sf -H Metadata:true "$imds/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net&client_id=$client_id" | jq -r .access_token)
secret=$(curl -sf -H "Authorization: Bearer $token" "https://$vault.vault.azure.net/secrets/turn-secret?api-version=7.4" | jq -r .value)
private_ip=$(curl -sf -H Metadata:true "$imds/instance/network/interface/0/ipv4/ipAddress/0/privateIpAddress?api-version=2021-02-01&format=text")
public_ip=$(curl -sf -H Metadata:true "$imds/instance/network/interface/0/ipv4/ipAddress/0/publicIpAddress?api-version=2021-02-01&format=text")
install -d -m 750 -o root -g turnserver /etc/coturn/tls
if [ ! -f /etc/coturn/tls/fullchain.pem ]; then
  # A self-signed certificate until an operator installs a real one (see README, "TURN over TLS").
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=$realm" \
    -keyout /etc/coturn/tls/privkey.pem -out /etc/coturn/tls/fullchain.pem
  chgrp turnserver /etc/coturn/tls/*.pem && chmod 640 /etc/coturn/tls/*.pem
fi
sed -e "s/@LISTEN_IP@/$private_ip/g" -e "s/@PORT@/3478/g" -e "s|@SECRET@|$secret|g" -e "s/@REALM@/$realm/g" \
    -e "s/@PUBLIC_IP@/$public_ip/g" -e "s/@PRIVATE_IP@/$private_ip/g" \
    /etc/coturn/railcloud.conf.template > /etc/turnserver.conf.new
chmod 640 /etc/turnserver.conf.new && chgrp turnserver /etc/turnserver.conf.new && mv /etc/turnserver.conf.new /etc/turnserver.conf
sed -i 's/^#\?TURNSERVER_ENABLED=.*/TURNSERVER_ENABLED=1/' /etc/default/coturn
# coturn may bind 443 without running as root.
setcap 'cap_net_bind_service=+ep' /usr/bin/turnserver
systemctl enable coturn
systemctl restart coturn
