using System.Security.Claims;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

using RailCloud.Signaling.Http;

namespace RailCloud.Signaling.Accounts;

/// <summary>
/// The bearer tokens <c>/api/login</c> issues: HS256 only (pinned), with issuer, audience, expiry and
/// <c>typ: at+jwt</c> all checked, so a token of another kind or signer is never taken for ours.
/// </summary>
public sealed class TokenService(IOptions<AuthOptions> options, TimeProvider time)
{
    private const string TokenType = "at+jwt";
    /// <summary>The enrolled device a token was issued to (device sign-in only).</summary>
    private const string DeviceClaim = "did";
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly SymmetricSecurityKey _key = new(Encoding.UTF8.GetBytes(options.Value.SigningKey));

    public (string Token, DateTimeOffset ExpiresAt) Issue(string id, string role, string? deviceId = null)
    {
        var now = time.GetUtcNow();
        var expires = now + options.Value.TokenLifetime;
        var claims = new Dictionary<string, object>
        {
            ["sub"] = id,
            ["role"] = role,
            ["jti"] = Guid.NewGuid().ToString("N"),
            // Milliseconds, so a logout in the same second as a login is ordered correctly.
            ["iat_ms"] = now.ToUnixTimeMilliseconds(),
        };
        if (deviceId is not null)
        {
            claims[DeviceClaim] = deviceId;
        }
        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = options.Value.Issuer,
            Audience = options.Value.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            TokenType = TokenType,
            Claims = claims,
            SigningCredentials = new SigningCredentials(_key, SecurityAlgorithms.HmacSha256),
        });
        return (token, expires);
    }

    public async Task<Caller?> ValidateAsync(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }
        var result = await _handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            IssuerSigningKey = _key,
            ValidIssuer = options.Value.Issuer,
            ValidAudience = options.Value.Audience,
            ValidTypes = [TokenType],
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = TimeSpan.FromSeconds(30),
            LifetimeValidator = (notBefore, expires, _, _) =>
            {
                var now = time.GetUtcNow().UtcDateTime;
                return expires is { } exp && exp > now.AddSeconds(-30) && (notBefore is not { } nbf || nbf <= now.AddSeconds(30));
            },
        }).ConfigureAwait(false);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            return null;
        }
        var id = jwt.Subject;
        var role = jwt.TryGetPayloadValue<string>("role", out var r) ? r : null;
        var issuedAt = jwt.TryGetPayloadValue<long>("iat_ms", out var ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : new DateTimeOffset(jwt.IssuedAt, TimeSpan.Zero);
        var device = jwt.TryGetPayloadValue<string>(DeviceClaim, out var d) ? d : null;
        return string.IsNullOrEmpty(id) || !Protocol.Roles.IsKnown(role) ? null : new Caller(id, role!, issuedAt, device);
    }
}
