using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using RailCloud.Protocol;

namespace RailCloud.Signaling.Devices;

/// <summary>The small pieces of device identity: ids, enrolment codes and their hashes, P-256 keys from JWKs, and compact JWS parts.</summary>
public static partial class DeviceKeys
{
    // Crockford's base32: no I, L, O or U, so a code read aloud or typed from a screen is not misread.
    private const string CodeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    [GeneratedRegex("^dev-[0-9a-f]{32}$")]
    private static partial Regex DeviceIdPattern();

    [GeneratedRegex("^[A-Za-z0-9_-]{16,128}$")]
    public static partial Regex JtiPattern();

    public static bool IsDeviceId(string? id) => id is not null && DeviceIdPattern().IsMatch(id);

    public static string NewDeviceId() => "dev-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public static string NewCode()
    {
        // 160 bits from 32 characters of 5 bits each.
        var bytes = RandomNumberGenerator.GetBytes(32);
        return new string([.. bytes.Select(b => CodeAlphabet[b & 31])]);
    }

    /// <summary>The stored form of a code: SHA-256 of it as typed, upper case, without spaces or dashes.</summary>
    public static string Hash(string code) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(code.Replace("-", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant())));

    /// <summary>An ECDSA P-256 public key from a JWK, or null when it is not one (wrong type, curve, size, or off the curve).</summary>
    public static ECDsa? ImportKey(PublicJwk? jwk)
    {
        if (jwk is not { Kty: "EC", Crv: "P-256" } || FromBase64Url(jwk.X) is not { Length: 32 } x || FromBase64Url(jwk.Y) is not { Length: 32 } y)
        {
            return null;
        }
        var key = ECDsa.Create();
        try
        {
            key.ImportParameters(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = x, Y = y } });
            return key;
        }
        catch (CryptographicException)
        {
            key.Dispose();
            return null;
        }
    }

    /// <summary>A JWS part (header or payload) as a JSON object, or null.</summary>
    public static JsonObject? ParseObject(string part)
    {
        try
        {
            return FromBase64Url(part) is { } bytes ? JsonNode.Parse(bytes) as JsonObject : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static string? Str(JsonObject json, string name) =>
        json[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    public static bool AudienceIs(JsonObject payload, string audience) => payload["aud"] switch
    {
        JsonValue single => single.TryGetValue<string>(out var aud) && aud == audience,
        JsonArray many => many.Any(a => a is JsonValue v && v.TryGetValue<string>(out var aud) && aud == audience),
        _ => false,
    };

    /// <summary>Base64url without padding or whitespace (RFC 7515), or null for anything else.</summary>
    public static byte[]? FromBase64Url(string? text)
    {
        if (string.IsNullOrEmpty(text) || text.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
        {
            return null;
        }
        try
        {
            return System.Buffers.Text.Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>A user agent or name as kept: at most 256 characters, null when blank.</summary>
    public static string? Clip(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Length > 256 ? text[..256] : text;
}
