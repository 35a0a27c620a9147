targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names and tags every resource.')
param environmentName string

@minLength(1)
@description('Azure region for everything.')
param location string

@description('Object id of the deploying user or principal, granted data access for operations and debugging.')
param principalId string = ''

@secure()
@description('coturn static-auth-secret for TURN REST credentials (kept in Key Vault).')
param turnSecret string

@secure()
@description('HMAC key for the tokens /api/login issues (kept in Key Vault).')
param tokenSigningKey string

@description('Optional SSH public key for the TURN VM admin user; SSH is never open to the internet either way.')
param turnAdminSshPublicKey string = ''

@minLength(1)
@description('Client id of the RailCloud API app registration in Entra ID (app roles Kiosk, Monitor, Supervisor; identifier URI api://<client id>). See README, Deploy.')
param apiClientId string

@description('VM size for coturn.')
param turnVmSize string = 'Standard_B1s'

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
    location: location
    tags: tags
  }
}

// The TURN VM gets an identity of its own that may only read the TURN secret.
module turnIdentity 'app/identity.bicep' = {
  name: 'turn-identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}turn-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    appInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    turnSecret: turnSecret
    tokenSigningKey: tokenSigningKey
  }
}

module webPubSub 'app/webpubsub.bicep' = {
  name: 'webpubsub'
  scope: rg
  params: {
    name: '${abbrs.signalRServiceWebPubSub}${resourceToken}'
    location: location
    tags: tags
    eventHandlerUrl: 'https://${abbrs.webSitesFunctions}${resourceToken}.azurewebsites.net/api/webpubsub/{event}'
    eventHandlerAudience: 'api://${apiClientId}'
    handlerIdentityId: identity.outputs.id
  }
}

module turn 'app/turn.bicep' = {
  name: 'turn'
  scope: rg
  params: {
    location: location
    tags: tags
    resourceToken: resourceToken
    vmSize: turnVmSize
    keyVaultName: keyVault.outputs.name
    identityId: turnIdentity.outputs.id
    identityClientId: turnIdentity.outputs.clientId
    adminSshPublicKey: turnAdminSshPublicKey
    coturnTemplate: loadTextContent('coturn/turnserver.conf.template')
    coturnCloud: loadTextContent('coturn/cloud.conf')
  }
}

module api 'app/function.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: '${abbrs.webSitesFunctions}${resourceToken}'
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: union(tags, { 'azd-service-name': 'api' })
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    webPubSubEndpoint: webPubSub.outputs.endpoint
    tokenSigningKeySecretUri: keyVault.outputs.tokenSigningKeyUri
    turnSecretUri: keyVault.outputs.turnSecretUri
    turnHostName: turn.outputs.hostName
    webOrigin: web.outputs.url
    apiClientId: apiClientId
  }
}

module web 'app/staticwebapp.bicep' = {
  name: 'web'
  scope: rg
  params: {
    name: '${abbrs.webStaticSites}${resourceToken}'
    location: location
    tags: union(tags, { 'azd-service-name': 'web' })
  }
}

module roles 'app/roles.bicep' = {
  name: 'roles'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    webPubSubName: webPubSub.outputs.name
    keyVaultName: keyVault.outputs.name
    appPrincipalId: identity.outputs.principalId
    turnPrincipalId: turnIdentity.outputs.principalId
    userPrincipalId: principalId
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output RAILCLOUD_API_URL string = api.outputs.url
output RAILCLOUD_WEB_URL string = web.outputs.url
output RAILCLOUD_STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output RAILCLOUD_WEBPUBSUB_ENDPOINT string = webPubSub.outputs.endpoint
output RAILCLOUD_TURN_HOST string = turn.outputs.hostName
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.appInsightsConnectionString
