using System.Security.Claims;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace RailCloud.WebPubSubEmulator;

/// <summary>What a valid client token says.</summary>
public sealed record ClientTokenInfo(string? UserId, IReadOnlyList<string> Roles, IReadOnlyList<string> Groups, IReadOnlyDictionary<string, string[]> Claims);

/// <summary>HS256 tokens signed with the access key: client tokens (audience = /client/hubs/{hub}) and REST tokens (audience = the request URL).</summary>
public sealed class TokenValidator(EmulatorOptions options, TimeProvider time)
{
    private readonly JsonWebTokenHandler _handler = new();
    private readonly SymmetricSecurityKey _key = new(Encoding.UTF8.GetBytes(options.AccessKey));

    public async Task<(ClientTokenInfo? Info, string? Error)> ValidateClientTokenAsync(string? token, string hub)
    {
        if (string.IsNullOrEmpty(token))
        {
            return (null, "No access token: pass access_token in the query or an Authorization: Bearer header.");
        }
        var (jwt, error) = await ValidateAsync(token, aud => AudiencePathIs(aud, $"/client/hubs/{hub}")).ConfigureAwait(false);
        if (jwt is null)
        {
            return (null, error);
        }
        var claims = jwt.Claims.GroupBy(c => c.Type).ToDictionary(g => g.Key, g => g.Select(c => c.Value).ToArray(), StringComparer.Ordinal);
        var userIds = claims.GetValueOrDefault("sub") ?? [];
        if (userIds.Length > 1)
        {
            return (null, "The token names more than one user (sub).");
        }
        return (new ClientTokenInfo(
            userIds.FirstOrDefault(),
            claims.GetValueOrDefault("role") ?? [],
            claims.GetValueOrDefault("webpubsub.group") ?? [],
            claims), null);
    }

    /// <summary>REST: audience must name this host and the request path; the scheme and query are not compared (as the service does).</summary>
    public async Task<string?> ValidateRestTokenAsync(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return "Authorization: Bearer <token> is required.";
        }
        var path = request.PathBase.Add(request.Path).Value ?? "/";
        var (jwt, error) = await ValidateAsync(header[7..].Trim(), aud =>
            Uri.TryCreate(aud, UriKind.Absolute, out var uri)
            && string.Equals(uri.Host, request.Host.Host, StringComparison.OrdinalIgnoreCase)
            && AudiencePathIs(aud, path)).ConfigureAwait(false);
        return jwt is null ? error : null;
    }

    public string CreateClientToken(string audience, string? userId, IEnumerable<string> roles, IEnumerable<string> groups, TimeSpan lifetime)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var claims = new Dictionary<string, object>();
        if (!string.IsNullOrEmpty(userId)) claims["sub"] = userId;
        var roleList = roles.ToArray();
        if (roleList.Length > 0) claims["role"] = roleList;
        var groupList = groups.ToArray();
        if (groupList.Length > 0) claims["webpubsub.group"] = groupList;
        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Audience = audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now.Add(lifetime),
            Claims = claims,
            SigningCredentials = new SigningCredentials(_key, SecurityAlgorithms.HmacSha256),
        });
    }

    private async Task<(JsonWebToken? Token, string? Error)> ValidateAsync(string token, Func<string, bool> audienceOk)
    {
        var parameters = new TokenValidationParameters
        {
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            IssuerSigningKey = _key,
            ValidateIssuer = false,
            ValidateAudience = true,
            AudienceValidator = (audiences, _, _) => audiences.Any(audienceOk),
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ClockSkew = TimeSpan.FromSeconds(30),
            LifetimeValidator = (notBefore, expires, _, _) =>
            {
                var now = time.GetUtcNow().UtcDateTime;
                return expires is { } exp && exp.AddSeconds(30) > now && (notBefore is not { } nbf || nbf.AddSeconds(-30) <= now);
            },
        };
        var result = await _handler.ValidateTokenAsync(token, parameters).ConfigureAwait(false);
        if (!result.IsValid)
        {
            return (null, result.Exception switch
            {
                SecurityTokenInvalidAudienceException => "The token's audience (aud) does not match this endpoint.",
                SecurityTokenInvalidLifetimeException or SecurityTokenExpiredException or SecurityTokenNoExpirationException => "The token is expired, not yet valid, or has no exp.",
                SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException => "The token's signature does not match the access key.",
                SecurityTokenInvalidAlgorithmException => "The token must be signed with HS256.",
                _ => "The token is not a valid JWT.",
            });
        }
        return ((JsonWebToken)result.SecurityToken, null);
    }

    private static bool AudiencePathIs(string audience, string path)
    {
        if (!Uri.TryCreate(audience, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https" or "ws" or "wss"))
        {
            return false;
        }
        static string Normalize(string p) => Uri.UnescapeDataString(p).TrimEnd('/');
        return string.Equals(Normalize(uri.AbsolutePath), Normalize(path), StringComparison.OrdinalIgnoreCase);
    }
}

internal static class ClaimsExtensions
{
    public static string[]? GetValueOrDefault(this Dictionary<string, string[]> claims, string name) =>
        claims.TryGetValue(name, out var v) ? v : null;
}
