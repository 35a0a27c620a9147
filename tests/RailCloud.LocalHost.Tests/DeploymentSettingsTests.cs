using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RailCloud.LocalHost;

namespace RailCloud.LocalHost.Tests;

/// <summary>What a deployed app meets and the local stack does not: azd's old short secrets, Key Vault references the
/// platform could not resolve, and a storage role that grants data access only.</summary>
public sealed class DeploymentSettingsTests
{
    private static Dictionary<string, string?> Settings(params (string Key, string? Value)[] overrides)
    {
        // Never contacted: start-up validation runs before anything connects.
        var settings = new Dictionary<string, string?>
        {
            ["Storage:ConnectionString"] = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;",
            ["WebPubSub:ConnectionString"] = "Endpoint=http://127.0.0.1:9;AccessKey=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH;Version=1.0;",
            ["Auth:SigningKey"] = RailCloudStack.SigningKey,
            ["Turn:Secret"] = RailCloudStack.TurnSecret,
            ["Logging:LogLevel:Default"] = "None",
        };
        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }
        return settings;
    }

    private static async Task<string?> StartupErrorAsync(Dictionary<string, string?> settings)
    {
        await using var app = LocalHostApp.Build(["--urls", $"http://127.0.0.1:{FreePort.Next()}"], builder => builder.Configuration.AddInMemoryCollection(settings));
        try
        {
            await app.StartAsync();
            await app.StopAsync();
            return null;
        }
        catch (OptionsValidationException ex)
        {
            return ex.Message;
        }
    }

    [Fact]
    public async Task StartupRefusesTheFifteenCharacterKeyOldAzdEnvironmentsHoldAndSaysHowToReplaceIt()
    {
        var error = await StartupErrorAsync(Settings(("Auth:SigningKey", "Ab3dE6gH9jK2mN5")));

        Assert.NotNull(error);
        Assert.Contains("Auth:SigningKey is only 15 bytes; it needs at least 32", error);
        Assert.Contains("az keyvault secret set --vault-name <vault> --name token-signing-key", error);
    }

    [Fact]
    public async Task StartupRefusesAnUnresolvedKeyVaultReferenceInAnySettingAndNamesIt()
    {
        const string reference = "@Microsoft.KeyVault(SecretUri=https://kv-railcloud.vault.azure.net/secrets/token-signing-key)";
        var error = await StartupErrorAsync(Settings(("Auth:SigningKey", reference), ("Turn:Secret", "@Microsoft.KeyVault(VaultName=kv;SecretName=turn-secret)")));

        Assert.NotNull(error);
        Assert.Contains("Auth:SigningKey is an unresolved Key Vault reference", error);
        Assert.Contains("Turn:Secret is an unresolved Key Vault reference", error);
        Assert.Contains("Key Vault Secrets User", error);
        Assert.DoesNotContain("bytes", error);   // the reference is the problem, not its length
    }

    [Fact]
    public async Task AGeneratedSixtyFourCharacterKeyStarts()
    {
        var key = new string([.. Enumerable.Range(0, 64).Select(i => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[Random.Shared.Next(62)])]);
        Assert.Null(await StartupErrorAsync(Settings(("Auth:SigningKey", key))));
    }

    [Fact]
    public async Task HealthNeedsOnlyTheTableDataRoleTheDeployedAppHolds()
    {
        var azurite = await RailCloudStack.SharedAzuriteAsync();
        await using var proxy = await DataRoleOnlyProxy.StartAsync(azurite.TableEndpoint);
        await using var stack = await RailCloudStack.StartAsync(new Dictionary<string, string?>
        {
            ["Storage:ConnectionString"] = azurite.ConnectionString.Replace(azurite.TableEndpoint.ToString(), proxy.TableEndpoint.ToString(), StringComparison.Ordinal),
        }, azurite);

        using var response = await stack.Api.Http.GetAsync("api/health");
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.True(proxy.Forwarded > 0, "the API's storage calls did not go through the proxy");
        Assert.Equal(0, proxy.Refused);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", (string?)body["storage"]);
    }

    /// <summary>
    /// Azurite behind a proxy that answers as Azure does to an identity holding Storage Table Data Contributor and
    /// nothing else: table and entity operations pass; account-level service operations (Get Table Service
    /// Properties, Stats), which need tableServices/read, get 403 AuthorizationPermissionMismatch.
    /// </summary>
    private sealed class DataRoleOnlyProxy : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly HttpClient _http = new();
        private int _forwarded;
        private int _refused;

        private DataRoleOnlyProxy(WebApplication app) => _app = app;

        public Uri TableEndpoint { get; private set; } = null!;
        public int Forwarded => _forwarded;
        public int Refused => _refused;

        public static async Task<DataRoleOnlyProxy> StartAsync(Uri target)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            var app = builder.Build();
            var proxy = new DataRoleOnlyProxy(app);
            app.Run(async context =>
            {
                if (string.Equals(context.Request.Query["restype"], "service", StringComparison.OrdinalIgnoreCase))
                {
                    Interlocked.Increment(ref proxy._refused);
                    context.Response.StatusCode = StatusCodes.Status403Forbidden;
                    context.Response.Headers["x-ms-error-code"] = "AuthorizationPermissionMismatch";
                    await context.Response.WriteAsync("{\"odata.error\":{\"code\":\"AuthorizationPermissionMismatch\",\"message\":{\"value\":\"This request is not authorized to perform this operation using this permission.\"}}}");
                    return;
                }
                Interlocked.Increment(ref proxy._forwarded);
                var path = context.Request.Path.Value!;
                using var forward = new HttpRequestMessage(new HttpMethod(context.Request.Method), new Uri($"{target.GetLeftPart(UriPartial.Authority)}{path}{context.Request.QueryString}"));
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body);
                if (body.Length > 0 || context.Request.ContentLength is not null)
                {
                    forward.Content = new ByteArrayContent(body.ToArray());
                }
                foreach (var (name, values) in context.Request.Headers)
                {
                    if (name.Equals("Host", StringComparison.OrdinalIgnoreCase) || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                    {
                        continue;
                    }
                    if (!forward.Headers.TryAddWithoutValidation(name, values.ToArray()))
                    {
                        forward.Content?.Headers.TryAddWithoutValidation(name, values.ToArray());
                    }
                }
                using var answer = await proxy._http.SendAsync(forward);
                context.Response.StatusCode = (int)answer.StatusCode;
                foreach (var (name, values) in answer.Headers.Concat(answer.Content.Headers))
                {
                    if (!name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
                    {
                        context.Response.Headers[name] = values.ToArray();
                    }
                }
                await answer.Content.CopyToAsync(context.Response.Body);
            });
            await app.StartAsync();
            proxy.TableEndpoint = new Uri($"{app.Urls.First()}/devstoreaccount1");
            return proxy;
        }

        public async ValueTask DisposeAsync()
        {
            _http.Dispose();
            await _app.DisposeAsync();
        }
    }
}
