@description('Installs and configures coturn on the TURN VM with a run command: unlike customData, it may change on every provisioning, and it runs only after the VM may read its secret.')
param location string
param tags object
param vmName string
param keyVaultName string
@description('Client id of the VM\'s identity, which reads the TURN secret.')
param identityClientId string
@description('The VM\'s DNS name: coturn\'s realm and its certificate\'s name.')
param hostName string
@description('The VM\'s static public IPv4 address, for coturn\'s external-ip (the metadata service may answer it empty).')
param publicIp string
param coturnTemplate string
param coturnCloud string
@description('A hash of the TURN secret (never the secret), so a new secret runs the command again.')
param configRevision string

var setupScript = replace(replace(replace(replace(loadTextContent('../coturn/setup.sh'), '__VAULT__', keyVaultName), '__CLIENT_ID__', identityClientId), '__REALM__', hostName), '__PUBLIC_IP__', publicIp)
var script = replace(replace(replace(loadTextContent('../coturn/runcommand.sh'),
  '__TEMPLATE__', base64('${coturnTemplate}\n${coturnCloud}')),
  '__SETUP__', base64(setupScript)),
  '__REVISION__', configRevision)

resource vm 'Microsoft.Compute/virtualMachines@2024-07-01' existing = {
  name: vmName
}

resource configure 'Microsoft.Compute/virtualMachines/runCommands@2024-07-01' = {
  parent: vm
  name: 'railcloud-coturn'
  location: location
  tags: tags
  properties: {
    source: { script: script }
    asyncExecution: false
    // apt-get on a fresh VM plus the secret read's retries while the role propagates.
    timeoutInSeconds: 1800
    treatFailureAsDeploymentFailure: true
  }
}
