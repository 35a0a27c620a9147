@description('coturn on a small Debian VM: static public IP with a DNS label, an NSG that lets in only TURN, and the secret read from Key Vault by the VM\'s identity.')
param location string
param tags object
param resourceToken string
param vmSize string
param keyVaultName string
param identityId string
param identityClientId string
@description('Optional admin SSH key; port 22 stays closed to the internet regardless (use Azure Bastion or serial console).')
param adminSshPublicKey string = ''
@description('Admin user on the TURN VM (key-based login only).')
param adminUsername string = 'railcloud'
param coturnTemplate string
param coturnCloud string

var dnsLabel = 'turn-${resourceToken}'
var hostName = '${dnsLabel}.${location}.cloudapp.azure.com'
var setupScript = replace(replace(replace(loadTextContent('../coturn/setup.sh'), '__VAULT__', keyVaultName), '__CLIENT_ID__', identityClientId), '__REALM__', hostName)
var cloudInit = '''
#cloud-config
package_update: true
packages: [coturn, curl, jq, openssl, libcap2-bin]
write_files:
  - path: /etc/coturn/railcloud.conf.template
    permissions: '0640'
    encoding: b64
    content: __TEMPLATE__
  - path: /usr/local/sbin/railcloud-turn-setup
    permissions: '0750'
    encoding: b64
    content: __SETUP__
runcmd:
  - [ /usr/local/sbin/railcloud-turn-setup ]
'''
var customData = replace(replace(cloudInit, '__TEMPLATE__', base64('${coturnTemplate}\n${coturnCloud}')), '__SETUP__', base64(setupScript))

resource nsg 'Microsoft.Network/networkSecurityGroups@2024-01-01' = {
  name: 'nsg-turn-${resourceToken}'
  location: location
  tags: tags
  properties: {
    securityRules: [
      {
        name: 'turn-udp'
        properties: { priority: 100, direction: 'Inbound', access: 'Allow', protocol: 'Udp', sourceAddressPrefix: '*', sourcePortRange: '*', destinationAddressPrefix: '*', destinationPortRange: '3478' }
      }
      {
        name: 'turn-tcp'
        properties: { priority: 110, direction: 'Inbound', access: 'Allow', protocol: 'Tcp', sourceAddressPrefix: '*', sourcePortRange: '*', destinationAddressPrefix: '*', destinationPortRange: '3478' }
      }
      {
        name: 'turn-tls'
        properties: { priority: 120, direction: 'Inbound', access: 'Allow', protocol: 'Tcp', sourceAddressPrefix: '*', sourcePortRange: '*', destinationAddressPrefix: '*', destinationPortRanges: [ '443', '5349' ] }
      }
      {
        name: 'turn-relay'
        properties: { priority: 130, direction: 'Inbound', access: 'Allow', protocol: 'Udp', sourceAddressPrefix: '*', sourcePortRange: '*', destinationAddressPrefix: '*', destinationPortRange: '49152-65535' }
      }
      {
        name: 'deny-everything-else'
        properties: { priority: 4000, direction: 'Inbound', access: 'Deny', protocol: '*', sourceAddressPrefix: '*', sourcePortRange: '*', destinationAddressPrefix: '*', destinationPortRange: '*' }
      }
    ]
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-01-01' = {
  name: 'vnet-turn-${resourceToken}'
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: [ '10.40.0.0/24' ] }
    subnets: [
      {
        name: 'turn'
        properties: {
          addressPrefix: '10.40.0.0/27'
          networkSecurityGroup: { id: nsg.id }
        }
      }
    ]
  }
}

resource publicIp 'Microsoft.Network/publicIPAddresses@2024-01-01' = {
  name: 'pip-turn-${resourceToken}'
  location: location
  tags: tags
  sku: { name: 'Standard' }
  properties: {
    publicIPAllocationMethod: 'Static'
    dnsSettings: { domainNameLabel: dnsLabel }
  }
}

resource nic 'Microsoft.Network/networkInterfaces@2024-01-01' = {
  name: 'nic-turn-${resourceToken}'
  location: location
  tags: tags
  properties: {
    networkSecurityGroup: { id: nsg.id }
    ipConfigurations: [
      {
        name: 'primary'
        properties: {
          subnet: { id: vnet.properties.subnets[0].id }
          privateIPAllocationMethod: 'Dynamic'
          publicIPAddress: { id: publicIp.id }
        }
      }
    ]
  }
}

resource vm 'Microsoft.Compute/virtualMachines@2024-07-01' = {
  name: 'vm-turn-${resourceToken}'
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    hardwareProfile: { vmSize: vmSize }
    osProfile: {
      computerName: 'turn'
      adminUsername: adminUsername
      customData: base64(customData)
      linuxConfiguration: {
        disablePasswordAuthentication: true
        ssh: {
          publicKeys: empty(adminSshPublicKey) ? [] : [
            { path: '/home/${adminUsername}/.ssh/authorized_keys', keyData: adminSshPublicKey }
          ]
        }
        patchSettings: { patchMode: 'AutomaticByPlatform', assessmentMode: 'AutomaticByPlatform' }
      }
    }
    storageProfile: {
      imageReference: { publisher: 'Debian', offer: 'debian-12', sku: '12-gen2', version: 'latest' }
      osDisk: { createOption: 'FromImage', managedDisk: { storageAccountType: 'StandardSSD_LRS' }, deleteOption: 'Delete' }
    }
    networkProfile: {
      networkInterfaces: [ { id: nic.id, properties: { deleteOption: 'Delete' } } ]
    }
    securityProfile: { securityType: 'TrustedLaunch', uefiSettings: { secureBootEnabled: true, vTpmEnabled: true } }
  }
}

output hostName string = hostName
output publicIp string = publicIp.properties.ipAddress
