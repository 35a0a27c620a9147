using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using RailCloud.Signaling.Accounts;
using RailCloud.Testing;

namespace RailCloud.Infra.Tests;

/// <summary>
/// What a first <c>azd up</c> would have hit, checked on the compiled template: each test stands for a class of
/// defect that Azure would only report at deployment time (or that would leave the deployed system broken).
/// </summary>
public sealed class FirstDeploymentTests
{
    private static async Task<JsonObject> ModuleAsync(string name) =>
        Assert.Single(await Bicep.OfTypeAsync("Microsoft.Resources/deployments"), d => (string?)d["name"] == name);

    private static JsonObject Parameter(string name) => Bicep.TemplateAsync().Result["parameters"]![name]!.AsObject();

    private static IEnumerable<string> DependsOn(JsonObject resource) =>
        resource["dependsOn"]?.AsArray().Select(d => (string)d!) ?? [];

    [Fact]
    public async Task TheTurnVmAlwaysHasAnSshKeySinceAzureRefusesALinuxVmWithNoWayToLogIn()
    {
        var vm = Assert.Single(await Bicep.OfTypeAsync("Microsoft.Compute/virtualMachines"));
        var linux = vm["properties"]!["osProfile"]!["linuxConfiguration"]!;
        var keys = linux["ssh"]!["publicKeys"]!.AsArray();
        var turn = await ModuleAsync("turn");

        Assert.True((bool)linux["disablePasswordAuthentication"]!);
        Assert.Equal("[parameters('adminSshPublicKey')]", (string?)Assert.Single(keys)!["keyData"]);
        Assert.Equal("[parameters('turnAdminSshPublicKey')]", (string?)turn["properties"]!["parameters"]!["adminSshPublicKey"]!["value"]);
        Assert.Equal(1, (int)Parameter("turnAdminSshPublicKey")["minLength"]!);   // no silent empty default
        Assert.False(Parameter("turnAdminSshPublicKey").ContainsKey("defaultValue"));
        var parameters = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "infra", "main.parameters.json")))!["parameters"]!;
        Assert.Equal("${RAILCLOUD_TURN_SSH_PUBLIC_KEY}", (string?)parameters["turnAdminSshPublicKey"]!["value"]);
    }

    [Fact]
    public async Task TheVmHasNoCustomDataAndCoturnIsConfiguredByARunCommandAfterItsRole()
    {
        var vm = Assert.Single(await Bicep.OfTypeAsync("Microsoft.Compute/virtualMachines"));
        var command = Assert.Single(await Bicep.OfTypeAsync("Microsoft.Compute/virtualMachines/runCommands"));
        var config = await ModuleAsync("turn-config");

        // customData can never change after creation (PropertyChangeNotAllowed); a run command can.
        Assert.Null(vm["properties"]!["osProfile"]!["customData"]);
        Assert.True((bool)command["properties"]!["treatFailureAsDeploymentFailure"]!);
        Assert.False((bool)command["properties"]!["asyncExecution"]!);
        Assert.Contains(DependsOn(config), d => d.Contains("'roles'", StringComparison.Ordinal));
        Assert.Equal("[uniqueString(parameters('turnSecret'))]", (string?)config["properties"]!["parameters"]!["configRevision"]!["value"]);
    }

    [Fact]
    public async Task TheTurnVmAsksForNoGuestPatchingThatDebianImagesDoNotSupport()
    {
        var vm = Assert.Single(await Bicep.OfTypeAsync("Microsoft.Compute/virtualMachines"));
        var patch = vm["properties"]!["osProfile"]!["linuxConfiguration"]!["patchSettings"]!;

        // Azure's automatic VM guest patching lists no Debian image; ImageDefault leaves it to Debian's unattended
        // upgrades, which the run command turns on (TurnVmRehearsalTests).
        Assert.Equal("ImageDefault", (string?)patch["patchMode"]);
        Assert.Null(patch["assessmentMode"]);
        Assert.StartsWith("Debian", (string?)vm["properties"]!["storageProfile"]!["imageReference"]!["publisher"], StringComparison.Ordinal);
        Assert.DoesNotContain("AutomaticByPlatform", (await Bicep.TemplateAsync()).ToJsonString());
    }

    [Fact]
    public async Task CoturnGetsThePublicAddressFromTheTemplateNotOnlyFromTheMetadataService()
    {
        var config = await ModuleAsync("turn-config");
        var turn = await ModuleAsync("turn");
        var script = (string)config["properties"]!["template"]!["variables"]!["setupScript"]!;

        Assert.Equal("[reference(extensionResourceId(format('/subscriptions/{0}/resourceGroups/{1}', subscription().subscriptionId, format('{0}{1}', variables('abbrs').resourcesResourceGroups, parameters('environmentName'))), 'Microsoft.Resources/deployments', 'turn'), '2025-04-01').outputs.publicIp.value]",
            (string?)config["properties"]!["parameters"]!["publicIp"]!["value"]);
        Assert.Contains("'__PUBLIC_IP__', parameters('publicIp')", script);
        Assert.Equal("[reference(resourceId('Microsoft.Network/publicIPAddresses', format('pip-turn-{0}', parameters('resourceToken'))), '2024-01-01').ipAddress]",
            (string?)turn["properties"]!["template"]!["outputs"]!["publicIp"]!["value"]);
        Assert.Equal("Static", (string?)(await Bicep.OfTypeAsync("Microsoft.Network/publicIPAddresses")).Single()["properties"]!["publicIPAllocationMethod"]);
    }

    private static async Task<Dictionary<string, string>> AppSettingsAsync()
    {
        var app = Assert.Single(await Bicep.OfTypeAsync("Microsoft.Web/sites"));
        return app["properties"]!["siteConfig"]!["appSettings"]!.AsArray().ToDictionary(s => (string)s!["name"]!, s => (string)s!["value"]!);
    }

    [Fact]
    public async Task ClientsAreOfferedTurnOverTlsOnlyOnceTheVmHoldsATrustedCertificate()
    {
        var api = await ModuleAsync("api");
        var variables = api["properties"]!["template"]!["variables"]!.AsObject();
        var urls = (await AppSettingsAsync())["Turn__Urls"];
        var parameters = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "infra", "main.parameters.json")))!["parameters"]!;
        var choice = Regex.Match(urls, @"^\[if\(parameters\('turnTlsTrusted'\), (?<trusted>format\(.*\)), variables\('turnUrls'\)\)\]$");

        // Until then only turn: over UDP and TCP on 3478; a self-signed turns: costs every peer an attempt browsers refuse.
        Assert.True(choice.Success, urls);
        Assert.Contains("turns:{1}:443?transport=tcp", choice.Groups["trusted"].Value);
        var untrusted = (string)variables["turnUrls"]!;
        Assert.Contains("transport=udp", untrusted);
        Assert.Contains("transport=tcp", untrusted);
        Assert.DoesNotContain("turns:", untrusted);
        Assert.False((bool)Parameter("turnTlsTrusted")["defaultValue"]!);
        Assert.Equal("[parameters('turnTlsTrusted')]", (string?)api["properties"]!["parameters"]!["turnTlsTrusted"]!["value"]);
        Assert.Equal("${RAILCLOUD_TURN_TLS_TRUSTED=false}", (string?)parameters["turnTlsTrusted"]!["value"]);
    }

    [Fact]
    public async Task TheIsolatedWorkerStartsWithoutAPlaceholderOnFlexWhereDotNet10CrashesInOne()
    {
        // azure-functions-dotnet-worker#3335: exit 139 under ordinary load on Flex with placeholders; the reported workaround.
        Assert.Equal("0", (await AppSettingsAsync())["WEBSITE_USE_PLACEHOLDER_DOTNETISOLATED"]);
    }

    [Fact]
    public async Task TheStaticSiteGoesToARegionThatHasStaticWebApps()
    {
        string[] regions = ["westus2", "centralus", "eastus2", "westeurope", "eastasia"];
        var template = await Bicep.TemplateAsync();
        var variables = template["variables"]!.AsObject();
        var web = await ModuleAsync("web");

        Assert.Equal("[variables('siteLocation')]", (string?)web["properties"]!["parameters"]!["location"]!["value"]);
        Assert.Equal(regions, variables["staticWebAppRegions"]!.AsArray().Select(r => (string)r!));
        Assert.All(variables["nearestStaticWebAppRegion"]!.AsObject(), pair => Assert.Contains((string)pair.Value!, regions));
        Assert.Equal(["", .. regions], Parameter("webLocation")["allowedValues"]!.AsArray().Select(r => (string)r!));
        var expression = (string)variables["siteLocation"]!;
        Assert.Contains("contains(variables('staticWebAppRegions'), parameters('location'))", expression);
        Assert.Contains("'westeurope'", expression);   // the fallback is itself an allowed region
    }

    [Fact]
    public async Task GeneratedSecretsAreLongEnoughForTheAppsOwnCheck()
    {
        foreach (var name in new[] { "turnSecret", "tokenSigningKey" })
        {
            var parameter = Parameter(name);
            var generate = parameter["metadata"]!["azd"]!;
            Assert.Equal("securestring", (string?)parameter["type"]);
            Assert.Equal("generate", (string?)generate["type"]);
            Assert.True((int)generate["config"]!["length"]! >= RailCloud.Signaling.Accounts.AuthOptions.MinSigningKeyBytes);
            Assert.True((bool)generate["config"]!["noSpecial"]!);    // letters and digits: one byte each, and safe in coturn's file
            Assert.Equal(RailCloud.Signaling.Accounts.AuthOptions.MinSigningKeyBytes, (int)parameter["minLength"]!);
        }
        // azd's secretOrRandomPassword always makes 15 characters: never used again.
        var parameters = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "infra", "main.parameters.json"));
        Assert.DoesNotContain("secretOrRandomPassword", parameters);
        Assert.DoesNotContain("turnSecret", parameters);
        Assert.DoesNotContain("tokenSigningKey", parameters);
    }

    [Fact]
    public async Task TheFunctionAppSendsOnlySiteConfigThatFlexConsumptionTakesAndASmallCappedInstance()
    {
        var app = Assert.Single(await Bicep.OfTypeAsync("Microsoft.Web/sites"));
        var siteConfig = app["properties"]!["siteConfig"]!.AsObject();
        var scale = app["properties"]!["functionAppConfig"]!["scaleAndConcurrency"]!;

        Assert.Equal(["appSettings", "cors", "minTlsVersion"], siteConfig.Select(p => p.Key).Order());
        Assert.Equal(512, (int)scale["instanceMemoryMB"]!);
        Assert.Equal(40, (int)scale["maximumInstanceCount"]!);   // the lowest maximum Flex accepts
        var settings = siteConfig["appSettings"]!.AsArray().Select(s => (string)s!["name"]!).ToList();
        foreach (var deprecated in new[] { "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE", "WEBSITE_CONTENTSHARE", "SCM_DO_BUILD_DURING_DEPLOYMENT" })
        {
            Assert.DoesNotContain(deprecated, settings);
        }
    }

    [Fact]
    public async Task TheSweepRunsOnceAMinuteNotEveryFifteenSeconds()
    {
        var source = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "functions", "RailCloud.Functions", "SweepFunction.cs"));
        var schedule = Regex.Match(source, "TimerTrigger\\(\"([^\"]+)\"").Groups[1].Value;

        Assert.Equal("0 * * * * *", schedule);   // 43,200 runs a month (README, "Cost")
    }

    [Fact]
    public async Task EveryDataRoleTheCodeNeedsIsGrantedAndTheAppStartsOnlyAfterItsRoles()
    {
        var roles = await Bicep.OfTypeAsync("Microsoft.Authorization/roleAssignments");
        var module = await ModuleAsync("roles");
        var variables = module["properties"]!["template"]!["variables"]!.AsObject();
        bool Granted(string role, string scopeType) => roles.Any(r =>
            r["properties"]!["principalId"]!.ToJsonString().Contains("appPrincipalId", StringComparison.Ordinal)
            && (r["properties"]!["roleDefinitionId"]!.ToJsonString().Contains(role, StringComparison.Ordinal)
                || (r["copy"] is not null && variables["storageRoles"]!.ToJsonString().Contains(role, StringComparison.Ordinal)))
            && ((string?)r["scope"])!.Contains(scopeType, StringComparison.Ordinal));

        Assert.True(Granted("storageTableDataContributor", "Microsoft.Storage/storageAccounts"));   // RailCloud's tables
        Assert.True(Granted("storageBlobDataOwner", "Microsoft.Storage/storageAccounts"));          // host storage, Flex deployment package
        Assert.True(Granted("storageQueueDataContributor", "Microsoft.Storage/storageAccounts"));  // host storage
        Assert.True(Granted("webPubSubServiceOwner", "Microsoft.SignalRService/webPubSub"));        // send, close connections
        Assert.True(Granted("keyVaultSecretsUser", "Microsoft.KeyVault/vaults"));                  // Key Vault references
        Assert.True(Granted("monitoringMetricsPublisher", "Microsoft.Insights/components"));       // telemetry, local auth off
        Assert.Equal("3913510d-42f4-4e42-8a64-420c390055eb", (string?)variables["monitoringMetricsPublisher"]);
        Assert.True((bool)(await Bicep.OfTypeAsync("Microsoft.Insights/components")).Single()["properties"]!["DisableLocalAuth"]!);

        Assert.Contains(DependsOn(await ModuleAsync("api")), d => d.Contains("'roles'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WebPubSubHasItsOwnIdentityWithNoDataRolesAndCallsTheAppByItsRealHostName()
    {
        var service = Assert.Single(await Bicep.OfTypeAsync("Microsoft.SignalRService/webPubSub"));
        var pubsubModule = await ModuleAsync("webpubsub");
        var hubModule = await ModuleAsync("webpubsub-hub");
        var api = await ModuleAsync("api");
        var roles = await Bicep.OfTypeAsync("Microsoft.Authorization/roleAssignments");

        Assert.Contains("webpubsub-identity", pubsubModule["properties"]!["parameters"]!["identityId"]!.ToJsonString());
        Assert.Contains("webpubsub-identity", api["properties"]!["parameters"]!["webPubSubClientId"]!.ToJsonString());
        Assert.Equal("UserAssigned", (string?)service["identity"]!["type"]);
        Assert.DoesNotContain(roles, r => r.ToJsonString().Contains("webpubsub-identity", StringComparison.Ordinal));
        Assert.DoesNotContain("webpubsub-identity", (await ModuleAsync("roles"))["properties"]!["parameters"]!.ToJsonString());
        var url = (string)hubModule["properties"]!["parameters"]!["eventHandlerUrl"]!["value"]!;
        Assert.StartsWith("[format('https://{0}/api/webpubsub/{{event}}', reference(extensionResourceId(", url);
        Assert.EndsWith("'Microsoft.Resources/deployments', 'api'), '2025-04-01').outputs.hostName.value)]", url);
    }

    [Fact]
    public async Task TheTurnHostNameComesFromThePublicIpsFqdnAndTheVmSizeFromTheEnvironment()
    {
        var turn = await ModuleAsync("turn");
        var parameters = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "infra", "main.parameters.json")))!["parameters"]!;

        Assert.Equal("[reference(resourceId('Microsoft.Network/publicIPAddresses', format('pip-turn-{0}', parameters('resourceToken'))), '2024-01-01').dnsSettings.fqdn]",
            (string?)turn["properties"]!["template"]!["outputs"]!["hostName"]!["value"]);
        Assert.Equal("${RAILCLOUD_TURN_VM_SIZE=Standard_B1s}", (string?)parameters["turnVmSize"]!["value"]);
        Assert.Equal("${RAILCLOUD_KEYVAULT_PURGE_PROTECTION=false}", (string?)parameters["keyVaultPurgeProtection"]!["value"]);
    }

    /// <summary>azd's service tag, resolved through module parameters: which resources carry azd-service-name=NAME.</summary>
    [Fact]
    public async Task EachAzdServiceIsExactlyOneResource()
    {
        var carriers = new Dictionary<string, int>();
        foreach (var module in await Bicep.OfTypeAsync("Microsoft.Resources/deployments"))
        {
            foreach (var (parameter, value) in module["properties"]!["parameters"]!.AsObject())
            {
                var service = Regex.Match((string?)value!["value"] ?? "", "createObject\\('azd-service-name', '([a-z]+)'\\)");
                if (!service.Success)
                {
                    continue;
                }
                var resources = module["properties"]!["template"]!["resources"]!;
                var tagged = (resources is JsonObject o ? o.Select(p => p.Value!) : resources.AsArray().Select(r => r!))
                    .Count(r => (string?)r["tags"] == $"[parameters('{parameter}')]");
                carriers[service.Groups[1].Value] = carriers.GetValueOrDefault(service.Groups[1].Value) + tagged;
            }
        }

        Assert.Equal(new Dictionary<string, int> { ["api"] = 1, ["web"] = 1 }, carriers);
        Assert.Matches("requiredVersions:\\s*\\n\\s*azd: '>= 1\\.\\d+\\.\\d+'", await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "azure.yaml")));
    }
}
