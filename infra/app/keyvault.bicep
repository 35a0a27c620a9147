@description('Key Vault (RBAC) holding the TURN secret and the token signing key.')
param name string
param location string
param tags object

@secure()
param turnSecret string

@secure()
param tokenSigningKey string

@description('Purge protection can never be turned off once on; Key Vault takes only true or nothing for it.')
param purgeProtection bool

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    enablePurgeProtection: purgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
  }
}

resource turn 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'turn-secret'
  properties: { value: turnSecret }
}

resource signing 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'token-signing-key'
  properties: { value: tokenSigningKey }
}

output name string = vault.name
output turnSecretName string = turn.name
output uri string = vault.properties.vaultUri
output turnSecretUri string = turn.properties.secretUri
output tokenSigningKeyUri string = signing.properties.secretUri
