@description('Hub railcloud: anonymous clients denied; every event goes to the function app with a managed-identity token.')
param serviceName string
@description('The app\'s event handler, from its real host name.')
param eventHandlerUrl string
@description('Audience of the token Web PubSub presents to the event handler (the API\'s app id URI).')
param eventHandlerAudience string

resource service 'Microsoft.SignalRService/webPubSub@2024-03-01' existing = {
  name: serviceName
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
