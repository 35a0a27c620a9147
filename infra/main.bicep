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

// Generated once by azd (64 letters and digits) and kept in the environment's config; the app refuses a key
// under 32 bytes, so the length is checked here too.
@secure()
@minLength(32)
@metadata({ azd: { type: 'generate', config: { length: 64, noSpecial: true } } })
@description('coturn static-auth-secret for TURN REST credentials (kept in Key Vault).')
param turnSecret string

@secure()
@minLength(32)
@metadata({ azd: { type: 'generate', config: { length: 64, noSpecial: true } } })
@description('HMAC key for the tokens /api/login issues (kept in Key Vault).')
param tokenSigningKey string

@minLength(1)
@description('SSH public key for the TURN VM admin user (Azure requires one when password login is off). The preprovision hook generates a throwaway one when RAILCLOUD_TURN_SSH_PUBLIC_KEY is unset; port 22 is never open to the internet either way.')
param turnAdminSshPublicKey string

@minLength(1)
@description('Client id of the RailCloud API app registration in Entra ID (app roles Kiosk, Monitor, Supervisor; identifier URI api://<client id>). See README, Deploy.')
param apiClientId string

@description('Set once a certificate browsers trust is installed on the TURN VM (README, "TURN over TLS"): only then are clients offered turns: on 443.')
param turnTlsTrusted bool = false

@description('VM size for coturn.')
param turnVmSize string = 'Standard_B1s'

// Static Web Apps run in these regions only; empty means the one nearest to `location`.
@allowed([ '', 'westus2', 'centralus', 'eastus2', 'westeurope', 'eastasia' ])
@description('Region of the static site with the pages (Static Web Apps exist in five regions only).')
param webLocation string = ''

@description('Purge protection on the Key Vault: on for production (it can never be turned off again, and the vault name stays taken for 7 days after azd down); off by default so a dev environment can be torn down and brought up again.')
param keyVaultPurgeProtection bool = false

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var staticWebAppRegions = [ 'westus2', 'centralus', 'eastus2', 'westeurope', 'eastasia' ]
// The nearest Static Web Apps region for regions that have none (anything unlisted falls back by continent below).
var nearestStaticWebAppRegion = {
  westus: 'westus2', westus3: 'westus2', westcentralus: 'westus2', canadacentral: 'centralus', canadaeast: 'eastus2'
  eastus: 'eastus2', northcentralus: 'centralus', southcentralus: 'centralus', brazilsouth: 'eastus2', mexicocentral: 'centralus'
  northeurope: 'westeurope', uksouth: 'westeurope', ukwest: 'westeurope', francecentral: 'westeurope'
  germanywestcentral: 'westeurope', swedencentral: 'westeurope', norwayeast: 'westeurope', switzerlandnorth: 'westeurope'
  polandcentral: 'westeurope', italynorth: 'westeurope', spaincentral: 'westeurope'
  southeastasia: 'eastasia', japaneast: 'eastasia', japanwest: 'eastasia', koreacentral: 'eastasia', centralindia: 'eastasia'
  australiaeast: 'eastasia', australiasoutheast: 'eastasia'
}
var siteLocation = !empty(webLocation) ? webLocation : contains(staticWebAppRegions, location) ? location : nearestStaticWebAppRegion[?location] ?? 'westeurope'

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

// Web PubSub gets an identity of its own with no data roles: it only presents a token to the event handler.
module webPubSubIdentity 'app/identity.bicep' = {
  name: 'webpubsub-identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}webpubsub-${resourceToken}'
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
    purgeProtection: keyVaultPurgeProtection
  }
}

module webPubSub 'app/webpubsub.bicep' = {
  name: 'webpubsub'
  scope: rg
  params: {
    name: '${abbrs.signalRServiceWebPubSub}${resourceToken}'
    location: location
    tags: tags
    identityId: webPubSubIdentity.outputs.id
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
    identityId: turnIdentity.outputs.id
    adminSshPublicKey: turnAdminSshPublicKey
  }
}

// coturn is configured by a run command, after the VM's identity may read the TURN secret (the roles module).
module turnConfig 'app/turnconfig.bicep' = {
  name: 'turn-config'
  scope: rg
  dependsOn: [ roles ]
  params: {
    location: location
    tags: tags
    vmName: turn.outputs.vmName
    keyVaultName: keyVault.outputs.name
    identityClientId: turnIdentity.outputs.clientId
    hostName: turn.outputs.hostName
    publicIp: turn.outputs.publicIp
    coturnTemplate: loadTextContent('coturn/turnserver.conf.template')
    coturnCloud: loadTextContent('coturn/cloud.conf')
    configRevision: uniqueString(turnSecret)
  }
}

// The app starts only after its identity may read its secrets and reach storage and Web PubSub, so its Key Vault
// references resolve on the first start.
module api 'app/function.bicep' = {
  name: 'api'
  scope: rg
  dependsOn: [ roles ]
  params: {
    name: '${abbrs.webSitesFunctions}${resourceToken}'
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    serviceTags: union(tags, { 'azd-service-name': 'api' })
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    webPubSubEndpoint: webPubSub.outputs.endpoint
    webPubSubClientId: webPubSubIdentity.outputs.clientId
    tokenSigningKeySecretUri: keyVault.outputs.tokenSigningKeyUri
    turnSecretUri: keyVault.outputs.turnSecretUri
    turnHostName: turn.outputs.hostName
    turnTlsTrusted: turnTlsTrusted
    webOrigin: web.outputs.url
    apiClientId: apiClientId
  }
}

// The hub's event handler goes to the app's real host name (Flex apps may get a regional, suffixed one).
module webPubSubHub 'app/webpubsubhub.bicep' = {
  name: 'webpubsub-hub'
  scope: rg
  params: {
    serviceName: webPubSub.outputs.name
    eventHandlerUrl: 'https://${api.outputs.hostName}/api/webpubsub/{event}'
    eventHandlerAudience: 'api://${apiClientId}'
  }
}

module web 'app/staticwebapp.bicep' = {
  name: 'web'
  scope: rg
  params: {
    name: '${abbrs.webStaticSites}${resourceToken}'
    location: siteLocation
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
    appInsightsName: monitoring.outputs.appInsightsName
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
output RAILCLOUD_TURN_VM_NAME string = turn.outputs.vmName
output RAILCLOUD_TURN_NSG_NAME string = turn.outputs.nsgName
output RAILCLOUD_API_URL string = api.outputs.url
output RAILCLOUD_WEB_URL string = web.outputs.url
output RAILCLOUD_STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output RAILCLOUD_WEBPUBSUB_ENDPOINT string = webPubSub.outputs.endpoint
output RAILCLOUD_TURN_HOST string = turn.outputs.hostName
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.appInsightsConnectionString
