using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace RailCloud.Testing;

/// <summary>
/// A stand-in for Entra ID on 127.0.0.1: OpenID Connect metadata and signing keys for one tenant, and tokens minted
/// by the test with the tenant's RSA key (or another, to forge).
/// </summary>
public sealed class OidcServer : IAsyncDisposable
{
    public const string TenantId = "11111111-2222-3333-4444-555555555555";
    public const string ClientId = "railcloud-api-client";

    private readonly WebApplication _app;

    private OidcServer(WebApplication app, Uri baseUri, RsaSecurityKey key)
    {
        _app = app;
        BaseUri = baseUri;
        Key = key;
    }

    public Uri BaseUri { get; }
    public RsaSecurityKey Key { get; }
    public string Issuer => $"{BaseUri.GetLeftPart(UriPartial.Authority)}/{TenantId}/v2.0";

    /// <summary>Settings that point the API at this server.</summary>
    public Dictionary<string, string?> Settings => new()
    {
        ["AzureAd:Instance"] = BaseUri.GetLeftPart(UriPartial.Authority) + "/",
        ["AzureAd:TenantId"] = TenantId,
        ["AzureAd:ClientId"] = ClientId,
        ["AzureAd:RequireHttpsMetadata"] = "false",
    };

    public static async Task<OidcServer> StartAsync()
    {
        var key = new RsaSecurityKey(RSA.Create(2048)) { KeyId = "test-key-1" };
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        OidcServer? server = null;
        app.MapGet($"/{TenantId}/v2.0/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = server!.Issuer,
            ["jwks_uri"] = $"{server.BaseUri.GetLeftPart(UriPartial.Authority)}/{TenantId}/discovery/v2.0/keys",
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        }));
        app.MapGet($"/{TenantId}/discovery/v2.0/keys", () =>
        {
            var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(key);
            return Results.Json(new { keys = new[] { new { kty = "RSA", use = "sig", kid = jwk.Kid, n = jwk.N, e = jwk.E, alg = "RS256" } } });
        });
        await app.StartAsync();
        server = new OidcServer(app, new Uri(app.Urls.First()), key);
        return server;
    }

    /// <summary>
    /// A v2.0 access token as Entra would issue it for the API (tid, ver, oid, azp; audience the client id); every part
    /// can be spoiled for negative tests.
    /// </summary>
    public string Mint(string username, string[] roles, string? audience = null, string? issuer = null, DateTime? expires = null, SecurityKey? signingKey = null, string? railcloudId = null)
    {
        var now = DateTime.UtcNow;
        var claims = new Dictionary<string, object>
        {
            ["preferred_username"] = username,
            ["oid"] = Guid.NewGuid().ToString(),
            ["tid"] = TenantId,
            ["ver"] = "2.0",
            ["azp"] = "railcloud-web",
        };
        if (roles.Length > 0) claims["roles"] = roles;
        if (railcloudId is not null) claims["railcloud_id"] = railcloudId;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Issuer,
            Audience = audience ?? ClientId, // a v2.0 access token names the API by its client id
            IssuedAt = (expires ?? now.AddHours(1)).AddHours(-1),
            NotBefore = (expires ?? now.AddHours(1)).AddHours(-1),
            Expires = expires ?? now.AddHours(1),
            Claims = claims,
            SigningCredentials = new SigningCredentials(signingKey ?? Key, SecurityAlgorithms.RsaSha256),
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
