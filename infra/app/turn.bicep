@description('A small Debian VM for coturn: static public IP with a DNS label and an NSG that lets in only TURN. No customData: coturn is installed and configured by a run command (turnconfig.bicep), which may change later, where customData may not.')
param location string
param tags object
param resourceToken string
param vmSize string
param identityId string
@description('Admin SSH public key (Azure requires one with password login off); port 22 stays closed to the internet regardless. Administer the VM with az vm run-command.')
param adminSshPublicKey string
@description('Admin user on the TURN VM (key-based login only).')
param adminUsername string = 'railcloud'

var dnsLabel = 'turn-${resourceToken}'

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
        properties: { priority: 120, direction: 'Inbound', access: 'Allow', protocol: 'Tcp', sourceAddressPrefix: '*', sourcePortRange: '*', destinationAddressPrefix: '*', destinationPortRange: '443' }
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
      linuxConfiguration: {
        disablePasswordAuthentication: true
        ssh: {
          publicKeys: [ { path: '/home/${adminUsername}/.ssh/authorized_keys', keyData: adminSshPublicKey } ]
        }
        // Azure's automatic guest patching (AutomaticByPlatform) supports no Debian image and refuses the VM with
        // InvalidParameter; the image's own way is Debian's unattended upgrades, which infra/coturn/setup.sh turns on.
        patchSettings: { patchMode: 'ImageDefault' }
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

output vmName string = vm.name
output nsgName string = nsg.name
output hostName string = publicIp.properties.dnsSettings.fqdn
output publicIp string = publicIp.properties.ipAddress
