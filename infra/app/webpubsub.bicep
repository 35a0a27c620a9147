@description('Azure Web PubSub (Standard) with hub railcloud; keyless, events to the function app with a managed-identity token.')
param name string
param location string
param tags object
param eventHandlerUrl string
@description('Audience of the token Web PubSub presents to the event handler (the function app\'s app id URI).')
param eventHandlerAudience string
param handlerIdentityId string

resource service 'Microsoft.SignalRService/webPubSub@2024-03-01' = {
  name: name
  location: location
  tags: tags
  sku: { name: 'Standard_S1', tier: 'Standard', capacity: 1 }
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${handlerIdentityId}': {} }
  }
  properties: {
    disableLocalAuth: true
    disableAadAuth: false
    publicNetworkAccess: 'Enabled'
    tls: { clientCertEnabled: false }
  }
}

resource hub 'Microsoft.SignalRService/webPubSub/hubs@2024-03-01' = {
  parent: service
  name: 'railcloud'
  properties: {
    anonymousConnectPolicy: 'deny'
    eventHandlers: [
      {
        urlTemplate: eventHandlerUrl
        userEventPattern: '*'
        systemEvents: [ 'connect', 'connected', 'disconnected' ]
        auth: {
          type: 'ManagedIdentity'
          managedIdentity: { resource: eventHandlerAudience }
        }
      }
    ]
  }
}

output name string = service.name
output endpoint string = 'https://${service.properties.hostName}'
