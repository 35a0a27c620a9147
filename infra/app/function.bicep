@description('The RailCloud API: Azure Functions on the Flex Consumption plan, .NET 10 isolated, identity-based connections only.')
param name string
param planName string
param location string
@description('Tags for the plan.')
param tags object
@description('Tags for the app itself, with azd-service-name: only one resource per service may carry it.')
param serviceTags object
param identityId string
param identityClientId string
param storageAccountName string
param appInsightsConnectionString string
param webPubSubEndpoint string
@description('Client id of Web PubSub\'s own identity, whose Entra token every event must carry.')
param webPubSubClientId string
param tokenSigningKeySecretUri string
param turnSecretUri string
param turnHostName string
@description('Whether the TURN VM holds a certificate browsers trust (README, "TURN over TLS"). Only then are clients offered turns: on 443: they refuse a self-signed one, and each peer would waste a TURN attempt on it.')
param turnTlsTrusted bool
@description('Origin of the web pages (the static site), the only one allowed to call the API from a browser.')
param webOrigin string
@description('Client id of the API app registration: Entra tokens for it are accepted, and Web PubSub presents one on every event.')
param apiClientId string

var turnUrls = 'turn:${turnHostName}:3478?transport=udp,turn:${turnHostName}:3478?transport=tcp'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: serviceTags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    // Only what Flex Consumption takes: it has no FTP (ftpsState is refused with error 51021 on newer stamps).
    siteConfig: {
      minTlsVersion: '1.2'
      cors: { allowedOrigins: [ webOrigin ] }
      appSettings: [
        // Host storage and the app's own tables: managed identity, no keys.
        { name: 'AzureWebJobsStorage__accountName', value: storage.name }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
        { name: 'AZURE_CLIENT_ID', value: identityClientId }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsightsConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
        { name: 'Storage__TableServiceUri', value: storage.properties.primaryEndpoints.table }
        { name: 'WebPubSub__Endpoint', value: webPubSubEndpoint }
        { name: 'WebPubSub__Hub', value: 'railcloud' }
        // The hub has no keys: events are trusted only with an Entra token from Web PubSub's identity, for this API.
        { name: 'WebPubSub__EventHandlerClientId', value: webPubSubClientId }
        { name: 'AzureAd__TenantId', value: tenant().tenantId }
        { name: 'AzureAd__ClientId', value: apiClientId }
        { name: 'Auth__SigningKey', value: '@Microsoft.KeyVault(SecretUri=${tokenSigningKeySecretUri})' }
        { name: 'Turn__Secret', value: '@Microsoft.KeyVault(SecretUri=${turnSecretUri})' }
        { name: 'Turn__Urls', value: turnTlsTrusted ? '${turnUrls},turns:${turnHostName}:443?transport=tcp' : turnUrls }
        { name: 'Stun__Urls', value: 'stun:${turnHostName}:3478' }
        // The .NET 10 isolated worker crashes with SIGSEGV (exit 139) under ordinary load when Flex specialises it from a
        // placeholder (azure-functions-dotnet-worker#3335, open); starting it without one is the reported workaround,
        // at the cost of a slower cold start (README, "The Functions app in Azure").
        { name: 'WEBSITE_USE_PLACEHOLDER_DOTNETISOLATED', value: '0' }
        // Enrolment URLs point at the kiosk page on the static site.
        { name: 'Devices__KioskPageUrl', value: '${webOrigin}/kiosk' }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}deploymentpackage'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      // The smallest instance and the lowest maximum Flex allows: the API is light (signaling only), and this caps
      // what a flood of the anonymous endpoints can cost (README, "Cost").
      scaleAndConcurrency: {
        maximumInstanceCount: 40
        instanceMemoryMB: 512
      }
      runtime: { name: 'dotnet-isolated', version: '10.0' }
    }
  }
}

output name string = app.name
output hostName string = app.properties.defaultHostName
output url string = 'https://${app.properties.defaultHostName}'
