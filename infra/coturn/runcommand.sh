#!/bin/bash
# The TURN VM's run command (infra/app/turnconfig.bicep fills in the __PLACEHOLDERS__): writes RailCloud's coturn
# files and runs the setup. It runs again whenever its text changes, which includes a change of the TURN secret
# (the revision below is a hash of it, never the secret).
# revision: __REVISION__
set -euo pipefail
# First boot: let cloud-init finish (it may still hold the package lock).
cloud-init status --wait >/dev/null 2>&1 || true
install -d -m 755 /etc/coturn
printf '%s' '__TEMPLATE__' | base64 -d > /etc/coturn/railcloud.conf.template
printf '%s' '__SETUP__' | base64 -d > /usr/local/sbin/railcloud-turn-setup.new
chmod 750 /usr/local/sbin/railcloud-turn-setup.new
mv /usr/local/sbin/railcloud-turn-setup.new /usr/local/sbin/railcloud-turn-setup
exec /usr/local/sbin/railcloud-turn-setup
