using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Identity.Web;
using Microsoft.IdentityModel.Tokens;
using RailCloud.Protocol;

using RailCloud.Signaling.Http;

namespace RailCloud.Signaling.Accounts;

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

    /// <summary>Only for tests against a local metadata endpoint.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    public bool Enabled => !string.IsNullOrWhiteSpace(TenantId) && !string.IsNullOrWhiteSpace(ClientId);

    /// <summary>
    /// The issuers of this one tenant: v2.0 tokens, and v1.0 tokens in the public cloud (an app registration that
    /// does not ask for v2.0 access tokens gets those, managed-identity tokens included).
    /// </summary>
    public IEnumerable<string> Issuers()
    {
        var instance = Instance.TrimEnd('/');
        yield return $"{instance}/{TenantId}/v2.0";
        if (new Uri(instance).Host.Equals("login.microsoftonline.com", StringComparison.OrdinalIgnoreCase))
        {
            yield return $"https://sts.windows.net/{TenantId}/";
        }
    }
}

/// <summary>
/// Entra ID access tokens, validated by Microsoft.Identity.Web's JWT bearer scheme (<see cref="Scheme"/>): the
/// tenant's OpenID metadata and keys, Microsoft.Identity.Web's audience rules (the client id, or <c>api://</c> it)
/// and its AAD issuer validator pinned to this one tenant, RS256 only, lifetime. No route relies on the
/// authentication middleware: every trigger calls <see cref="AuthenticateAsync"/> explicitly.
/// </summary>
public sealed partial class EntraTokenValidator(IOptions<AzureAdOptions> options, ILogger<EntraTokenValidator> logger)
{
    public const string Scheme = "EntraId";

    private static readonly Dictionary<string, string> AppRoles = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Kiosk"] = Roles.Kiosk,
        ["Monitor"] = Roles.Monitor,
        ["Supervisor"] = Roles.Supervisor,
    };

    public bool Enabled => options.Value.Enabled;

    /// <summary>The token's claims (names as in the token) if the request carries a valid Entra token for our API, else null.</summary>
    public async Task<ClaimsPrincipal?> ValidateAsync(HttpContext context)
    {
        if (!Enabled || RequestAuthenticator.BearerToken(context.Request) is null)
        {
            return null;
        }
        var result = await context.AuthenticateAsync(Scheme).ConfigureAwait(false);
        if (result.Succeeded)
        {
            return result.Principal;
        }
        LogRefused(logger, result.Failure?.GetType().Name ?? "no token", result.Failure?.Message);
        return null;
    }

    /// <summary>
    /// A person or device signed in with Entra ID: the RailCloud role comes from the app roles (the most capable one
    /// wins), the id from the optional <c>railcloud_id</c> claim, else the user name before the @.
    /// </summary>
    public async Task<Caller?> AuthenticateAsync(HttpContext context)
    {
        var principal = await ValidateAsync(context).ConfigureAwait(false);
        if (principal is null)
        {
            return null;
        }
        var roles = principal.FindAll("roles").Select(c => AppRoles.GetValueOrDefault(c.Value)).Where(r => r is not null).ToList();
        var role = roles.Contains(Roles.Supervisor) ? Roles.Supervisor : roles.Contains(Roles.Monitor) ? Roles.Monitor : roles.Contains(Roles.Kiosk) ? Roles.Kiosk : null;
        var id = Claim(principal, "railcloud_id") ?? Claim(principal, "preferred_username")?.Split('@')[0];
        if (role is null || id is null || !Ids.IsValid(id))
        {
            LogNoRole(logger, Claim(principal, "oid"));
            return null;
        }
        var issuedAt = long.TryParse(Claim(principal, "iat"), NumberStyles.None, CultureInfo.InvariantCulture, out var iat)
            ? DateTimeOffset.FromUnixTimeSeconds(iat)
            : DateTimeOffset.MinValue;
        return new Caller(id, role, issuedAt);
    }

    private static string? Claim(ClaimsPrincipal principal, string type) =>
        principal.FindFirst(type)?.Value is { Length: > 0 } value ? value : null;

    [LoggerMessage(Level = LogLevel.Information, Message = "Entra token refused ({Reason}): {Detail}")]
    private static partial void LogRefused(ILogger logger, string reason, string? detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "Entra token of object {ObjectId} refused: no RailCloud app role or no usable id")]
    private static partial void LogNoRole(ILogger logger, string? objectId);
}

public static class EntraIdServiceCollectionExtensions
{
    /// <summary>
    /// Registers Microsoft.Identity.Web's web API scheme <see cref="EntraTokenValidator.Scheme"/>, configured from
    /// <c>AzureAd</c> when a request first needs it. It is never a default scheme: our own tokens stay with
    /// <see cref="TokenService"/>, and each route asks for Entra explicitly.
    /// </summary>
    public static IServiceCollection AddRailCloudEntraId(this IServiceCollection services)
    {
        services.AddOptions<AzureAdOptions>().BindConfiguration(AzureAdOptions.SectionName);
        services.AddSingleton<EntraTokenValidator>();
        // A lone scheme would become the default, and the hosts' authentication middleware would then run it on
        // every request: on our own tokens too, and without AzureAd settings it cannot even be built.
        AppContext.SetSwitch("Microsoft.AspNetCore.Authentication.SuppressAutoDefaultScheme", true);
        services.AddAuthentication()
            .AddMicrosoftIdentityWebApi(_ => { }, _ => { }, EntraTokenValidator.Scheme);

        services.AddOptions<MicrosoftIdentityOptions>(EntraTokenValidator.Scheme).Configure<IOptions<AzureAdOptions>>((identity, azureAd) =>
        {
            identity.Instance = azureAd.Value.Instance;
            identity.TenantId = azureAd.Value.TenantId;
            identity.ClientId = azureAd.Value.ClientId;
            // Roles are checked by RailCloud (AuthenticateAsync, and the event handler's identity check); Web
            // PubSub's managed-identity token carries no role and must still get through to that check.
            identity.AllowWebApiToBeAuthorizedByACL = true;
        });
        services.AddOptions<JwtBearerOptions>(EntraTokenValidator.Scheme).Configure<IOptions<AzureAdOptions>, TimeProvider>((jwt, azureAd, time) =>
        {
            jwt.RequireHttpsMetadata = azureAd.Value.RequireHttpsMetadata;
            jwt.MapInboundClaims = false;
            var parameters = jwt.TokenValidationParameters;
            parameters.ValidIssuers = [.. azureAd.Value.Issuers()]; // read by Microsoft.Identity.Web's issuer validator
            parameters.ValidAlgorithms = [SecurityAlgorithms.RsaSha256];
            parameters.RequireExpirationTime = true;
            parameters.RequireSignedTokens = true;
            parameters.LifetimeValidator = (notBefore, expires, _, _) =>
            {
                var now = time.GetUtcNow().UtcDateTime;
                return expires is { } exp && exp > now.AddMinutes(-2) && (notBefore is not { } nbf || nbf <= now.AddMinutes(2));
            };
        });
        return services;
    }
}
