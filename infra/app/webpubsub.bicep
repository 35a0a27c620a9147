@description('Azure Web PubSub (Standard); keyless. The hub and its event handler are in webpubsubhub.bicep, deployed after the app.')
param name string
param location string
param tags object
@description('Web PubSub\'s own identity: it presents a token to the event handler and holds no data roles.')
param identityId string

resource service 'Microsoft.SignalRService/webPubSub@2024-03-01' = {
  name: name
  location: location
  tags: tags
  sku: { name: 'Standard_S1', tier: 'Standard', capacity: 1 }
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    disableLocalAuth: true
    disableAadAuth: false
    publicNetworkAccess: 'Enabled'
    tls: { clientCertEnabled: false }
  }
}

output name string = service.name
output endpoint string = 'https://${service.properties.hostName}'
