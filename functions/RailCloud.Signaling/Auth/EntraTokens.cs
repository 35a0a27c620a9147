using System.Security.Claims;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;
using RailCloud.Protocol;

namespace RailCloud.Signaling.Auth;

/// <summary>
/// <c>AzureAd</c>: optional Entra ID. When TenantId and ClientId are set, the API also accepts Entra ID access
/// tokens for its app registration (app roles Kiosk, Monitor, Supervisor), and Web PubSub's managed-identity token
/// on the event handler.
/// </summary>
public sealed class AzureAdOptions
{
    public const string SectionName = "AzureAd";

    public string Instance { get; set; } = "https://login.microsoftonline.com/";
    public string? TenantId { get; set; }
    public string? ClientId { get; set; }

    /// <summary>The API's app id URI; defaults to <c>api://{ClientId}</c>. Tokens for it or for the client id are accepted.</summary>
    public string? Audience { get; set; }

    /// <summary>Only for tests against a local metadata endpoint.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    public bool Enabled => !string.IsNullOrWhiteSpace(TenantId) && !string.IsNullOrWhiteSpace(ClientId);

    public string Authority => $"{Instance.TrimEnd('/')}/{TenantId}/v2.0";
}

/// <summary>
/// Validates Entra ID access tokens against the tenant's published metadata and keys: RS256 only, issuer from the
/// metadata, audience our API, lifetime; then maps the app roles to RailCloud roles.
/// </summary>
public sealed class EntraTokenValidator
{
    private static readonly Dictionary<string, string> AppRoles = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Kiosk"] = Roles.Kiosk,
        ["Monitor"] = Roles.Monitor,
        ["Supervisor"] = Roles.Supervisor,
    };

    private readonly AzureAdOptions _options;
    private readonly TimeProvider _time;
    private readonly ConfigurationManager<OpenIdConnectConfiguration>? _metadata;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };

    public EntraTokenValidator(IOptions<AzureAdOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _time = time;
        if (_options.Enabled)
        {
            _metadata = new ConfigurationManager<OpenIdConnectConfiguration>(
                $"{_options.Authority}/.well-known/openid-configuration",
                new OpenIdConnectConfigurationRetriever(),
                new HttpDocumentRetriever { RequireHttps = _options.RequireHttpsMetadata });
        }
    }

    public bool Enabled => _metadata is not null;

    /// <summary>The token's claims if it is a valid Entra token for our API, else null.</summary>
    public async Task<JsonWebToken?> ValidateAsync(string? token, CancellationToken cancellationToken = default)
    {
        if (_metadata is null || string.IsNullOrEmpty(token))
        {
            return null;
        }
        OpenIdConnectConfiguration configuration;
        try
        {
            configuration = await _metadata.GetConfigurationAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            return null; // metadata unreachable: refuse rather than guess
        }
        var audience = _options.Audience ?? $"api://{_options.ClientId}";
        var result = await _handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
            ValidIssuer = configuration.Issuer,
            IssuerSigningKeys = configuration.SigningKeys,
            ValidAudiences = [audience, _options.ClientId!],
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = TimeSpan.FromMinutes(2),
            LifetimeValidator = (notBefore, expires, _, _) =>
            {
                var now = _time.GetUtcNow().UtcDateTime;
                return expires is { } exp && exp > now.AddMinutes(-2) && (notBefore is not { } nbf || nbf <= now.AddMinutes(2));
            },
        }).ConfigureAwait(false);
        return result.IsValid ? result.SecurityToken as JsonWebToken : null;
    }

    /// <summary>
    /// A person or device signed in with Entra ID: the RailCloud role comes from the app roles (the most capable one
    /// wins), the id from the optional <c>railcloud_id</c> claim, else the user name before the @.
    /// </summary>
    public async Task<Caller?> AuthenticateAsync(string? token, CancellationToken cancellationToken = default)
    {
        var jwt = await ValidateAsync(token, cancellationToken).ConfigureAwait(false);
        if (jwt is null)
        {
            return null;
        }
        var roles = jwt.Claims.Where(c => c.Type == "roles").Select(c => AppRoles.GetValueOrDefault(c.Value)).Where(r => r is not null).ToList();
        var role = roles.Contains(Roles.Supervisor) ? Roles.Supervisor : roles.Contains(Roles.Monitor) ? Roles.Monitor : roles.Contains(Roles.Kiosk) ? Roles.Kiosk : null;
        var id = Claim(jwt, "railcloud_id") ?? Claim(jwt, "preferred_username")?.Split('@')[0];
        if (role is null || id is null || !AccountService.IdPattern().IsMatch(id))
        {
            return null;
        }
        return new Caller(id, role, new DateTimeOffset(jwt.IssuedAt, TimeSpan.Zero));
    }

    private static string? Claim(JsonWebToken jwt, string type) =>
        jwt.Claims.FirstOrDefault(c => c.Type == type)?.Value is { Length: > 0 } value ? value : null;
}
