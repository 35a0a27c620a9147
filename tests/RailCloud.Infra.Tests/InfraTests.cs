using System.Text.Json.Nodes;
using RailCloud.Testing;

namespace RailCloud.Infra.Tests;

/// <summary>
/// The Azure templates can't be deployed from here, so they are proven by the Bicep compiler and linter and by
/// checks on the compiled ARM template: the security properties RailCloud promises hold in what azd would deploy.
/// </summary>
public sealed class InfraTests
{
    [Fact]
    public async Task TheTemplateBuildsAndLintsWithoutAnyWarning()
    {
        var build = await Bicep.RunAsync("build", Bicep.MainFile, "--stdout");
        var lint = await Bicep.RunAsync("lint", Bicep.MainFile);

        Assert.True(build.ExitCode == 0, build.Errors);
        Assert.True(string.IsNullOrWhiteSpace(build.Errors), "bicep build reported:\n" + build.Errors);
        Assert.True(lint.ExitCode == 0 && string.IsNullOrWhiteSpace(lint.Errors + lint.Output), "bicep lint reported:\n" + lint.Errors + lint.Output);
    }

    [Fact]
    public async Task StorageIsKeylessHttpsOnlyAndTls12()
    {
        var account = Assert.Single(await Bicep.OfTypeAsync("Microsoft.Storage/storageAccounts"));
        var p = account["properties"]!;
        Assert.False((bool)p["allowSharedKeyAccess"]!);
        Assert.False((bool)p["allowBlobPublicAccess"]!);
        Assert.True((bool)p["supportsHttpsTrafficOnly"]!);
        Assert.Equal("TLS1_2", (string?)p["minimumTlsVersion"]);
    }

    [Fact]
    public async Task TheFunctionAppUsesItsIdentityHttpsAndKeyVaultForSecrets()
    {
        var app = Assert.Single(await Bicep.OfTypeAsync("Microsoft.Web/sites"), s => ((string?)s["kind"])!.StartsWith("functionapp", StringComparison.Ordinal));
        var p = app["properties"]!;
        var settings = p["siteConfig"]!["appSettings"]!.AsArray().ToDictionary(s => (string)s!["name"]!, s => s!["value"]!.ToJsonString());
        var plan = Assert.Single(await Bicep.OfTypeAsync("Microsoft.Web/serverfarms"));

        Assert.Equal("UserAssigned", (string?)app["identity"]!["type"]);
        Assert.True((bool)p["httpsOnly"]!);
        Assert.Equal("1.2", (string?)p["siteConfig"]!["minTlsVersion"]);
        Assert.Equal("FlexConsumption", (string?)plan["sku"]!["tier"]);
        Assert.Equal("dotnet-isolated", (string?)p["functionAppConfig"]!["runtime"]!["name"]);
        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"].Trim('"'));
        Assert.Contains("Microsoft.KeyVault(SecretUri=", settings["Auth__SigningKey"]);
        Assert.Contains("Microsoft.KeyVault(SecretUri=", settings["Turn__Secret"]);
        Assert.Contains("Storage__TableServiceUri", settings.Keys);
        Assert.Contains("WebPubSub__Endpoint", settings.Keys);
        Assert.Contains("WebPubSub__EventHandlerClientId", settings.Keys);   // keyless hub: events need its identity's token
        Assert.Contains("AzureAd__ClientId", settings.Keys);
        Assert.DoesNotContain(settings, s => s.Key.Contains("ConnectionString", StringComparison.OrdinalIgnoreCase) && s.Key != "APPLICATIONINSIGHTS_CONNECTION_STRING");
        Assert.DoesNotContain(settings.Values, v => v.Contains("AccountKey", StringComparison.OrdinalIgnoreCase) || v.Contains("listKeys", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain("*", p["siteConfig"]!["cors"]!["allowedOrigins"]!.AsArray().Select(o => (string?)o));
    }

    [Fact]
    public async Task WebPubSubIsKeylessDeniesAnonymousClientsAndCallsTheFunctionWithItsIdentity()
    {
        var service = Assert.Single(await Bicep.OfTypeAsync("Microsoft.SignalRService/webPubSub"));
        var hub = Assert.Single(await Bicep.OfTypeAsync("Microsoft.SignalRService/webPubSub/hubs"));
        var handler = Assert.Single(hub["properties"]!["eventHandlers"]!.AsArray())!;

        Assert.True((bool)service["properties"]!["disableLocalAuth"]!);
        Assert.Equal("Standard", (string?)service["sku"]!["tier"]);
        Assert.Contains("railcloud", hub["name"]!.ToJsonString());
        Assert.Equal("deny", (string?)hub["properties"]!["anonymousConnectPolicy"]);
        Assert.Equal("[parameters('eventHandlerUrl')]", (string?)handler["urlTemplate"]);
        Assert.Equal("*", (string?)handler["userEventPattern"]);
        Assert.Equal(["connect", "connected", "disconnected"], handler["systemEvents"]!.AsArray().Select(e => (string)e!).Order());
        Assert.Equal("ManagedIdentity", (string?)handler["auth"]!["type"]);
    }

    [Fact]
    public async Task KeyVaultUsesRbacAndKeepsDeletedSecrets()
    {
        var vault = Assert.Single(await Bicep.OfTypeAsync("Microsoft.KeyVault/vaults"));
        var secrets = (await Bicep.OfTypeAsync("Microsoft.KeyVault/vaults/secrets")).Select(s => s["name"]!.ToJsonString()).ToList();
        Assert.True((bool)vault["properties"]!["enableRbacAuthorization"]!);
        // Key Vault takes true or nothing here (false is refused); a parameter chooses, off by default for dev.
        Assert.Equal("[if(parameters('purgeProtection'), true(), null())]", (string?)vault["properties"]!["enablePurgeProtection"]);
        Assert.Equal(7, (int)vault["properties"]!["softDeleteRetentionInDays"]!);
        Assert.Contains(secrets, n => n.Contains("turn-secret"));
        Assert.Contains(secrets, n => n.Contains("token-signing-key"));
    }

    [Fact]
    public async Task TheAppIdentityAndTheDeployingUserGetTheDataRolesAndNothingElse()
    {
        var module = Assert.Single(await Bicep.OfTypeAsync("Microsoft.Resources/deployments"), d => (string?)d["name"] == "roles");
        var variables = module["properties"]!["template"]!["variables"]!.AsObject();
        var roles = await Bicep.OfTypeAsync("Microsoft.Authorization/roleAssignments");
        string RoleOf(JsonObject assignment) => assignment["properties"]!["roleDefinitionId"]!.ToJsonString();

        Assert.Equal("0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", (string?)variables["storageTableDataContributor"]);
        Assert.Equal("12cf5a90-567b-43ae-8102-96cf46c7d9b4", (string?)variables["webPubSubServiceOwner"]);
        Assert.Equal("4633458b-17de-408a-b874-0445c86b69e6", (string?)variables["keyVaultSecretsUser"]);
        Assert.All(roles, r => Assert.StartsWith("[guid(", (string?)r["name"]));
        foreach (var role in new[] { "webPubSubServiceOwner", "keyVaultSecretsUser" })
        {
            Assert.Contains(roles, r => RoleOf(r).Contains(role) && (string?)r["properties"]!["principalType"] == "ServicePrincipal");
            // The deploying principal may be a user or a service principal (CI): no principalType for it.
            Assert.Contains(roles, r => RoleOf(r).Contains(role) && r["properties"]!["principalId"]!.ToJsonString().Contains("userPrincipalId") && r["properties"]!["principalType"] is null && r["condition"] is not null);
        }
        Assert.Contains(roles, r => RoleOf(r).Contains("storageRoles") && r["copy"] is not null && (string?)r["properties"]!["principalType"] == "ServicePrincipal");
        Assert.Contains(roles, r => RoleOf(r).Contains("storageTableDataContributor") && r["properties"]!["principalId"]!.ToJsonString().Contains("userPrincipalId"));
        Assert.DoesNotContain(roles, r => (string?)r["properties"]!["principalType"] == "User");
        // Never a broad role: Owner, Contributor, User Access Administrator.
        var template = (await Bicep.TemplateAsync()).ToJsonString();
        foreach (var broad in new[] { "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "b24988ac-6180-42a0-ab88-20f7382dd24c", "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9" })
        {
            Assert.DoesNotContain(broad, template);
        }
    }

    [Fact]
    public async Task TheTurnVmAdmitsOnlyTurnTrafficAndNoSsh()
    {
        var nsg = Assert.Single(await Bicep.OfTypeAsync("Microsoft.Network/networkSecurityGroups"));
        var rules = nsg["properties"]!["securityRules"]!.AsArray().Select(r => r!["properties"]!.AsObject()).ToList();
        var allowed = rules.Where(r => (string?)r["access"] == "Allow" && (string?)r["direction"] == "Inbound")
            .SelectMany(r => (r["destinationPortRanges"]?.AsArray().Select(p => (string)p!) ?? [(string)r["destinationPortRange"]!]).Select(port => $"{((string)r["protocol"]!).ToLowerInvariant()}/{port}"))
            .Order().ToList();
        var vm = Assert.Single(await Bicep.OfTypeAsync("Microsoft.Compute/virtualMachines"));

        Assert.Equal(["tcp/3478", "tcp/443", "udp/3478", "udp/49152-65535"], allowed);
        Assert.Contains(rules, r => (string?)r["access"] == "Deny" && (string?)r["destinationPortRange"] == "*" && (string?)r["sourceAddressPrefix"] == "*");
        Assert.True((bool)vm["properties"]!["osProfile"]!["linuxConfiguration"]!["disablePasswordAuthentication"]!);
        Assert.Equal("UserAssigned", (string?)vm["identity"]!["type"]);
        // The VM runs as its own identity, which may read secrets only (not the app's tables or Web PubSub).
        var turnModule = Assert.Single(await Bicep.OfTypeAsync("Microsoft.Resources/deployments"), d => (string?)d["name"] == "turn");
        Assert.Contains("turn-identity", turnModule["properties"]!["parameters"]!["identityId"]!.ToJsonString());
        var roles = await Bicep.OfTypeAsync("Microsoft.Authorization/roleAssignments");
        var turnRole = Assert.Single(roles, r => r["properties"]!["principalId"]!.ToJsonString().Contains("turnPrincipalId"));
        Assert.Contains("keyVaultSecretsUser", turnRole["properties"]!["roleDefinitionId"]!.ToJsonString());
        // Scoped to the turn-secret secret alone, not the vault (which also holds the token signing key).
        Assert.Equal("[resourceId('Microsoft.KeyVault/vaults/secrets', parameters('keyVaultName'), 'turn-secret')]", (string?)turnRole["scope"]);
        var ip = Assert.Single(await Bicep.OfTypeAsync("Microsoft.Network/publicIPAddresses"));
        Assert.Equal("Static", (string?)ip["properties"]!["publicIPAllocationMethod"]);
    }

    [Fact]
    public async Task CoturnDeniesPrivateLoopbackLinkLocalAndMetadataPeersInTheCloud()
    {
        var template = (await Bicep.TemplateAsync()).ToJsonString();
        var cloud = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "infra", "coturn", "cloud.conf"));
        foreach (var range in new[] { "10.0.0.0-10.255.255.255", "172.16.0.0-172.31.255.255", "192.168.0.0-192.168.255.255", "127.0.0.0-127.255.255.255", "169.254.0.0-169.254.255.255", "100.64.0.0-100.127.255.255", "0.0.0.0-0.255.255.255", "::1", "fc00::", "fe80::", "::ffff:0.0.0.0-::ffff:255.255.255.255" })
        {
            Assert.Contains($"denied-peer-ip={range}", template);  // the template is compiled into the VM's cloud-init
        }
        foreach (var setting in new[] { "no-cli", "use-auth-secret", "user-quota=", "total-quota=", "max-bps=", "no-tlsv1", "no-tlsv1_1" })
        {
            Assert.Contains(setting, template);
        }
        Assert.DoesNotContain("allow-loopback-peers", cloud);
        Assert.DoesNotContain("allow-loopback-peers", template);
    }

    [Fact]
    public async Task OutputsAreUpperSnakeCaseForAzd()
    {
        var outputs = (await Bicep.TemplateAsync())["outputs"]!.AsObject().Select(o => o.Key).ToList();
        Assert.All(outputs, name => Assert.Matches("^[A-Z][A-Z0-9_]*$", name));
        Assert.Contains("RAILCLOUD_API_URL", outputs);
        Assert.Contains("RAILCLOUD_WEB_URL", outputs);
        Assert.Contains("RAILCLOUD_STORAGE_TABLE_ENDPOINT", outputs); // where `railcloud accounts --storage` goes
        Assert.DoesNotContain(outputs, o => o.Contains("KEY", StringComparison.Ordinal) && o != "AZURE_KEY_VAULT_NAME");
    }

    [Fact]
    public void AzureYamlNamesTheApiAndWebServices()
    {
        var yaml = File.ReadAllText(Path.Combine(RepoPaths.Root, "azure.yaml"));
        Assert.Contains("host: function", yaml);
        Assert.Contains("project: functions/RailCloud.Functions", yaml);
        Assert.Contains("host: staticwebapp", yaml);
        // The pages' config.json is written before packaging from provisioning's outputs, so `azd up` must
        // provision first (its default packages first).
        var provision = yaml.IndexOf("- azd: provision", StringComparison.Ordinal);
        var package = yaml.IndexOf("- azd: package --all", StringComparison.Ordinal);
        Assert.True(provision > 0 && package > provision && yaml.IndexOf("- azd: deploy --all", StringComparison.Ordinal) > package, "azure.yaml's up workflow must be provision, package, deploy");
    }

    [Fact]
    public void TheStaticSiteServesEachPageAtItsShortAddressAndSignInComesBackToTheBridgePage()
    {
        var web = Path.Combine(RepoPaths.Root, "clients", "web", "static");
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(web, "staticwebapp.config.json")))!;
        var rewrites = config["routes"]!.AsArray().Where(r => r!["rewrite"] is not null)
            .ToDictionary(r => (string)r!["route"]!, r => (string)r!["rewrite"]!);

        Assert.Equal("/kiosk.html", rewrites["/kiosk"]);
        Assert.Equal("/monitor.html", rewrites["/monitor"]);
        Assert.All(rewrites.Values, page => Assert.True(File.Exists(Path.Combine(web, page.TrimStart('/'))), $"{page} is not in clients/web/static"));
        // The SPA redirect URI the postprovision hook registers is a page that exists.
        Assert.Contains("/auth-redirect.html`", File.ReadAllText(Path.Combine(RepoPaths.Root, "infra", "hooks", "postprovision.mjs")));
        Assert.True(File.Exists(Path.Combine(web, "auth-redirect.html")));
    }
}
