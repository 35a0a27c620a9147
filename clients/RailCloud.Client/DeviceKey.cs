using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using RailCloud.Protocol;

namespace RailCloud.Client;

/// <summary>
/// An enrolled device's ECDSA P-256 key and the assertions it signs for <c>POST /api/devices/token</c>. The private
/// key stays in this process (or in a file only its owner can read, for the CLI); only the public JWK is sent.
/// </summary>
public sealed class DeviceKey : IDisposable
{
    private readonly ECDsa _key;

    private DeviceKey(ECDsa key) => _key = key;

    public static DeviceKey Create() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>The public half, as the API takes it.</summary>
    public PublicJwk PublicJwk
    {
        get
        {
            var q = _key.ExportParameters(includePrivateParameters: false).Q;
            return new PublicJwk("EC", "P-256", Base64Url(q.X!), Base64Url(q.Y!));
        }
    }

    /// <summary>
    /// A compact JWS (ES256) for the token route: <c>sub</c> the device id, <c>aud</c> the token route's URL, <c>iat</c>
    /// now, a fresh <c>jti</c> and the server's <c>nonce</c>.
    /// </summary>
    public string SignAssertion(string deviceId, string audience, string nonce, DateTimeOffset? now = null, string? jti = null, string alg = "ES256")
    {
        var header = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new { alg, typ = "JWT" }));
        var payload = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new
        {
            sub = deviceId,
            aud = audience,
            iat = (now ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds(),
            jti = jti ?? Base64Url(RandomNumberGenerator.GetBytes(16)),
            nonce,
        }));
        var signature = _key.SignData(Encoding.ASCII.GetBytes(header + "." + payload), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return $"{header}.{payload}.{Base64Url(signature)}";
    }

    /// <summary>The private key as PKCS#8 PEM, for a store only the device's user can read.</summary>
    public string ExportPrivateKeyPem() => _key.ExportPkcs8PrivateKeyPem();

    public static DeviceKey FromPem(string pem)
    {
        var key = ECDsa.Create();
        key.ImportFromPem(pem);
        return new DeviceKey(key);
    }

    public void Dispose() => _key.Dispose();

    private static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
}
