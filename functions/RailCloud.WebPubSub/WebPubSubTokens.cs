using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace RailCloud.WebPubSub;

/// <summary>JWTs signed with the access key, as the service expects them (HS256 over the key's UTF-8 bytes).</summary>
public static class WebPubSubTokens
{
    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    /// <summary>A token for a client connection: audience <c>{endpoint}/client/hubs/{hub}</c>.</summary>
    public static string CreateClientToken(
        Uri endpoint, string accessKey, string hub, string? userId,
        IEnumerable<string>? roles, IEnumerable<string>? groups, TimeSpan lifetime, DateTimeOffset now)
    {
        var claims = new Dictionary<string, object>();
        if (!string.IsNullOrEmpty(userId))
        {
            claims["sub"] = userId;
        }
        var roleList = roles?.ToArray() ?? [];
        if (roleList.Length > 0)
        {
            claims["role"] = roleList;
        }
        var groupList = groups?.ToArray() ?? [];
        if (groupList.Length > 0)
        {
            claims["webpubsub.group"] = groupList;
        }
        return Create(ClientAudience(endpoint, hub), accessKey, claims, lifetime, now);
    }

    /// <summary>A token for one REST request: audience is the request URL without its query.</summary>
    public static string CreateRestToken(Uri requestUri, string accessKey, DateTimeOffset now) =>
        Create(requestUri.GetLeftPart(UriPartial.Path), accessKey, [], TimeSpan.FromMinutes(5), now);

    public static string ClientAudience(Uri endpoint, string hub) =>
        $"{endpoint.GetLeftPart(UriPartial.Authority)}/client/hubs/{hub}";

    private static string Create(string audience, string accessKey, Dictionary<string, object> claims, TimeSpan lifetime, DateTimeOffset now)
    {
        var descriptor = new SecurityTokenDescriptor
        {
            Audience = audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime.AddMinutes(-1),
            Expires = now.Add(lifetime).UtcDateTime,
            Claims = claims,
            SigningCredentials = new SigningCredentials(
                new SymmetricSecurityKey(Encoding.UTF8.GetBytes(accessKey)), SecurityAlgorithms.HmacSha256),
        };
        return Handler.CreateToken(descriptor);
    }
}
