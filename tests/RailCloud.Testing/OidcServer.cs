using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using RailCloud.Signaling.Accounts;

namespace RailCloud.Testing;

/// <summary>
/// A stand-in for Entra ID on 127.0.0.1, for one tenant: OpenID Connect metadata and signing keys, tokens minted by
/// the test with the tenant's RSA key (or another, to forge), and, for browser sign-in, the authorization-code flow
/// with PKCE (authorize and token endpoints, CORS as Entra answers a single-page app). Over HTTPS when asked (MSAL
/// accepts only https authorities), with a self-signed certificate that <see cref="TrustIn"/> lets the API trust.
/// </summary>
public sealed class OidcServer : IAsyncDisposable
{
    public const string TenantId = "11111111-2222-3333-4444-555555555555";
    public const string ClientId = "railcloud-api-client";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, PendingCode> _codes = new();
    private readonly ConcurrentDictionary<string, SignedInUser> _refreshTokens = new();
    private readonly ConcurrentQueue<string> _redirectUris = new();

    private OidcServer(WebApplication app, Uri baseUri, RsaSecurityKey key, X509Certificate2? certificate)
    {
        _app = app;
        BaseUri = baseUri;
        Key = key;
        Certificate = certificate;
    }

    public Uri BaseUri { get; }
    public RsaSecurityKey Key { get; }
    public X509Certificate2? Certificate { get; }
    public string Origin => BaseUri.GetLeftPart(UriPartial.Authority);
    public string Issuer => $"{Origin}/{TenantId}/v2.0";

    /// <summary>The authority a single-page app signs in with (MSAL's form: no /v2.0).</summary>
    public string Authority => $"{Origin}/{TenantId}";

    /// <summary>Who "signs in" at the authorize endpoint (the test plays the person at the keyboard).</summary>
    public SignedInUser? User { get; set; }

    /// <summary>How long the access tokens it issues live. Under MSAL's five-minute renewal margin, every token MSAL is asked for is renewed.</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Refresh tokens have expired (as after 24 hours for a single-page app): MSAL must renew in its hidden frame.</summary>
    public bool RefreshTokensExpired { get; set; }

    /// <summary>
    /// Whether a silent sign-in (<c>prompt=none</c>, MSAL's hidden frame) comes back to the app. When false it shows a
    /// page that never does, as a frame that cannot finish.
    /// </summary>
    public bool SilentSignInComesBack { get; set; } = true;

    /// <summary>Authorize requests with <c>prompt=none</c> (MSAL's hidden renewal frame) so far.</summary>
    public int SilentAuthorizeRequests => Volatile.Read(ref _silentAuthorizeRequests);

    /// <summary>Codes issued to a silent sign-in and then redeemed: the hidden frame came back to the app, and MSAL read it.</summary>
    public int SilentSignInsCompleted => Volatile.Read(ref _silentSignInsCompleted);

    private int _silentAuthorizeRequests;
    private int _silentSignInsCompleted;

    /// <summary>The redirect URIs registered for the app (an authorize request for any other is refused, as in Entra).</summary>
    public ICollection<string> RegisteredRedirectUris { get; } = new List<string>();

    /// <summary>Every redirect URI the authorize endpoint was asked for, allowed or not.</summary>
    public IReadOnlyCollection<string> RequestedRedirectUris => [.. _redirectUris];

    /// <summary>Settings that point the API at this server.</summary>
    public Dictionary<string, string?> Settings => new()
    {
        ["AzureAd:Instance"] = Origin + "/",
        ["AzureAd:TenantId"] = TenantId,
        ["AzureAd:ClientId"] = ClientId,
        ["AzureAd:RequireHttpsMetadata"] = Certificate is null ? "false" : "true",
    };

    /// <summary>Settings that make the pages offer Microsoft sign-in against this server.</summary>
    public Dictionary<string, string?> WebClientSettings => new()
    {
        ["WebClient:Entra:ClientId"] = ClientId,
        ["WebClient:Entra:Authority"] = Authority,
        ["WebClient:Entra:Scope"] = $"{ClientId}/.default",
        ["WebClient:Entra:KnownAuthorities"] = BaseUri.Authority,
    };

    public sealed record SignedInUser(string Username, string[] Roles);

    private sealed record PendingCode(SignedInUser User, string RedirectUri, string Challenge, string? Nonce, string Scope, bool Silent);

    public static async Task<OidcServer> StartAsync(bool https = false)
    {
        var key = new RsaSecurityKey(RSA.Create(2048)) { KeyId = "test-key-1" };
        var certificate = https ? LoopbackCertificate.Create() : null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            if (certificate is not null)
            {
                listen.UseHttps(certificate);
            }
        }));
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        OidcServer? server = null;

        // A single-page app calls the metadata and token endpoints from another origin.
        app.Use(async (context, next) =>
        {
            context.Response.Headers.AccessControlAllowOrigin = "*";
            if (HttpMethods.IsOptions(context.Request.Method))
            {
                context.Response.Headers.AccessControlAllowMethods = "GET, POST, OPTIONS";
                context.Response.Headers.AccessControlAllowHeaders = context.Request.Headers.AccessControlRequestHeaders.ToString() is { Length: > 0 } asked ? asked : "*";
                context.Response.StatusCode = StatusCodes.Status204NoContent;
                return;
            }
            await next(context);
        });
        app.MapGet($"/{TenantId}/v2.0/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = server!.Issuer,
            ["authorization_endpoint"] = $"{server.Origin}/{TenantId}/oauth2/v2.0/authorize",
            ["token_endpoint"] = $"{server.Origin}/{TenantId}/oauth2/v2.0/token",
            ["end_session_endpoint"] = $"{server.Origin}/{TenantId}/oauth2/v2.0/logout",
            ["jwks_uri"] = $"{server.Origin}/{TenantId}/discovery/v2.0/keys",
            ["response_modes_supported"] = new[] { "query", "fragment", "form_post" },
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        }));
        app.MapGet($"/{TenantId}/discovery/v2.0/keys", () =>
        {
            var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(key);
            return Results.Json(new { keys = new[] { new { kty = "RSA", use = "sig", kid = jwk.Kid, n = jwk.N, e = jwk.E, alg = "RS256" } } });
        });
        app.MapGet($"/{TenantId}/oauth2/v2.0/authorize", (HttpRequest request) => server!.Authorize(request));
        app.MapPost($"/{TenantId}/oauth2/v2.0/token", async (HttpRequest request) => server!.Token(await request.ReadFormAsync()));
        await app.StartAsync();
        server = new OidcServer(app, new Uri(app.Urls.First()), key, certificate);
        return server;
    }

    /// <summary>Makes the API's Entra scheme trust this server's self-signed certificate, and nothing else new.</summary>
    public void TrustIn(IServiceCollection services)
    {
        var thumbprint = Certificate?.Thumbprint ?? throw new InvalidOperationException("This server runs without HTTPS.");
        services.Configure<JwtBearerOptions>(EntraTokenValidator.Scheme, options => options.BackchannelHttpHandler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, errors) =>
                errors == System.Net.Security.SslPolicyErrors.None || certificate?.Thumbprint == thumbprint,
        });
    }

    /// <summary>
    /// A v2.0 access token as Entra would issue it for the API (tid, ver, oid, azp; audience the client id); every part
    /// can be spoiled for negative tests.
    /// </summary>
    public string Mint(string username, string[] roles, string? audience = null, string? issuer = null, DateTime? expires = null, SecurityKey? signingKey = null, string? railcloudId = null)
    {
        var claims = new Dictionary<string, object>
        {
            ["preferred_username"] = username,
            ["oid"] = ObjectId(username),
            ["azp"] = "railcloud-web",
        };
        if (roles.Length > 0) claims["roles"] = roles;
        if (railcloudId is not null) claims["railcloud_id"] = railcloudId;
        return Sign(claims, audience, issuer, expires, signingKey);
    }

    /// <summary>
    /// Any token of this tenant, as Entra signs them: the given claims plus tid and ver 2.0, valid for the hour before
    /// <paramref name="expires"/> (default: an hour from now), audience the client id unless another is named.
    /// </summary>
    public string Sign(Dictionary<string, object> claims, string? audience = null, string? issuer = null, DateTime? expires = null, SecurityKey? signingKey = null)
    {
        var until = expires ?? DateTime.UtcNow.AddHours(1);
        claims["tid"] = TenantId;
        claims["ver"] = "2.0";
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Issuer,
            Audience = audience ?? ClientId, // a v2.0 token names the API by its client id
            IssuedAt = until.AddHours(-1),
            NotBefore = until.AddHours(-1),
            Expires = until,
            Claims = claims,
            SigningCredentials = new SigningCredentials(signingKey ?? Key, SecurityAlgorithms.RsaSha256),
        });
    }

    private IResult Authorize(HttpRequest request)
    {
        var query = request.Query;
        var redirectUri = query["redirect_uri"].ToString();
        _redirectUris.Enqueue(redirectUri);
        if (query["client_id"] != ClientId || !RegisteredRedirectUris.Contains(redirectUri))
        {
            // Entra shows its own error page and never goes back to an unregistered address.
            return Results.Content($"<p>AADSTS50011: the redirect URI '{WebUtility.HtmlEncode(redirectUri)}' is not registered for this app.</p>", "text/html", statusCode: 400);
        }
        if (query["response_type"] != "code" || query["code_challenge_method"] != "S256" || string.IsNullOrEmpty(query["code_challenge"]))
        {
            return Back(redirectUri, query["response_mode"], new() { ["error"] = "invalid_request", ["error_description"] = "The authorization code flow with PKCE (S256) is required.", ["state"] = query["state"].ToString() });
        }
        if (query["scope"].ToString().Split(' ').Any(s => s.StartsWith($"api://{ClientId}/", StringComparison.OrdinalIgnoreCase)))
        {
            // The pages sign in with the API's own registration; Entra refuses an app that asks a token for itself by URI.
            return Back(redirectUri, query["response_mode"], new() { ["error"] = "invalid_request", ["error_description"] = "AADSTS90009: Application is requesting a token for itself. This scenario is supported only if resource is specified using the GUID based App Identifier.", ["state"] = query["state"].ToString() });
        }
        if (query["prompt"] == "none")
        {
            Interlocked.Increment(ref _silentAuthorizeRequests);
            if (!SilentSignInComesBack)
            {
                return Results.Content("<p>Working…</p>", "text/html");
            }
        }
        if (User is not { } user)
        {
            return Back(redirectUri, query["response_mode"], new() { ["error"] = "access_denied", ["error_description"] = "Nobody signed in.", ["state"] = query["state"].ToString() });
        }
        var code = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        _codes[code] = new PendingCode(user, redirectUri, query["code_challenge"]!, query["nonce"], query["scope"].ToString(), query["prompt"] == "none");
        return Back(redirectUri, query["response_mode"], new()
        {
            ["code"] = code,
            ["client_info"] = ClientInfo(user),
            ["state"] = query["state"].ToString(),
            ["session_state"] = Guid.NewGuid().ToString(),
        });
    }

    private static IResult Back(string redirectUri, string? responseMode, Dictionary<string, string> parameters)
    {
        var encoded = string.Join('&', parameters.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}"));
        return Results.Redirect(redirectUri + (responseMode == "query" ? "?" : "#") + encoded);
    }

    private IResult Token(IFormCollection form)
    {
        SignedInUser user;
        string scope;
        string? nonce = null;
        switch (form["grant_type"].ToString())
        {
            case "authorization_code":
                if (!_codes.TryRemove(form["code"].ToString(), out var pending) || pending.RedirectUri != form["redirect_uri"] || form["client_id"] != ClientId)
                {
                    return Error("invalid_grant", "AADSTS70008: the code is unknown, used or for another redirect URI.");
                }
                var verifier = form["code_verifier"].ToString();
                if (Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))) != pending.Challenge)
                {
                    return Error("invalid_grant", "AADSTS501481: the code verifier does not match the code challenge.");
                }
                (user, scope, nonce) = (pending.User, pending.Scope, pending.Nonce);
                if (pending.Silent)
                {
                    Interlocked.Increment(ref _silentSignInsCompleted);
                }
                break;
            case "refresh_token":
                if (RefreshTokensExpired)
                {
                    return Error("invalid_grant", "AADSTS700084: The refresh token was issued to a single page app (SPA), and therefore has a fixed, limited lifetime of 1.00:00:00, which cannot be extended.");
                }
                if (!_refreshTokens.TryGetValue(form["refresh_token"].ToString(), out var known))
                {
                    return Error("invalid_grant", "AADSTS9002313: unknown refresh token.");
                }
                (user, scope) = (known, form["scope"].ToString());
                break;
            default:
                return Error("unsupported_grant_type", "Only authorization_code and refresh_token.");
        }
        var refreshToken = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        _refreshTokens[refreshToken] = user;
        var apiScope = scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(s => s.EndsWith("/.default", StringComparison.Ordinal)) ?? $"{ClientId}/.default";
        return Results.Json(new Dictionary<string, object>
        {
            ["token_type"] = "Bearer",
            ["scope"] = apiScope,
            ["expires_in"] = (int)AccessTokenLifetime.TotalSeconds,
            ["ext_expires_in"] = (int)AccessTokenLifetime.TotalSeconds,
            ["access_token"] = Mint(user.Username, user.Roles, expires: DateTime.UtcNow + AccessTokenLifetime),
            ["refresh_token"] = refreshToken,
            ["id_token"] = IdToken(user, nonce),
            ["client_info"] = ClientInfo(user),
        });
    }

    private string IdToken(SignedInUser user, string? nonce)
    {
        var claims = new Dictionary<string, object>
        {
            ["sub"] = ObjectId(user.Username),
            ["oid"] = ObjectId(user.Username),
            ["name"] = user.Username.Split('@')[0],
            ["preferred_username"] = user.Username,
        };
        if (!string.IsNullOrEmpty(nonce)) claims["nonce"] = nonce;
        return Sign(claims); // an id token's audience is the app that signed in: here the same client id
    }

    private static IResult Error(string error, string description) =>
        Results.Json(new { error, error_description = description }, statusCode: StatusCodes.Status400BadRequest);

    private static string ClientInfo(SignedInUser user) =>
        Base64UrlEncoder.Encode(JsonSerializer.Serialize(new { uid = ObjectId(user.Username), utid = TenantId }));

    /// <summary>A stable object id per user name, as Entra keeps one per person.</summary>
    private static string ObjectId(string username) =>
        new Guid(SHA256.HashData(Encoding.UTF8.GetBytes(username)).AsSpan(0, 16)).ToString();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
