using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RailCloud.Protocol;
using RailCloud.Signaling.Accounts;
using RailCloud.Signaling.Kiosks;
using static RailCloud.Signaling.Devices.DeviceKeys;

namespace RailCloud.Signaling.Devices;

/// <summary>
/// An enrolled device signs in with a short ES256 assertion over a single-use server nonce, and gets the kiosk token a
/// password login would give, carrying its device id. Nothing long-lived travels.
/// </summary>
public sealed class DeviceSignIn(DeviceStore store, AccountService accounts, AuditStore audit, IOptions<DeviceOptions> options, TimeProvider time, ILogger<DeviceSignIn> logger)
{
    private const string NoncePartition = "nonce";
    private const string JtiPartition = "jti";
    private const int MaxAssertionLength = 4096;

    public async Task<NonceResponse> IssueNonceAsync(CancellationToken cancellationToken)
    {
        await store.EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        var nonce = System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var expiresAt = time.GetUtcNow() + options.Value.NonceLifetime;
        await store.TryAddOnceAsync(NoncePartition, nonce, expiresAt, cancellationToken).ConfigureAwait(false);
        return new NonceResponse(nonce, expiresAt);
    }

    /// <summary>
    /// Signs a device in with its assertion: a compact JWS, ES256 only, signed by the device key, with <c>sub</c> (the
    /// device id), <c>aud</c> (one of <paramref name="audience"/>), <c>iat</c> (within the clock skew), a one-time <c>jti</c>
    /// and a server <c>nonce</c>. A refused assertion uses up neither its nonce nor its jti.
    /// </summary>
    public async Task<DeviceResult<LoginResponse>> SignInAsync(string? assertion, IReadOnlyList<string> audience, string? userAgent, CancellationToken cancellationToken)
    {
        await store.EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        static DeviceResult<LoginResponse> Invalid(string detail) =>
            DeviceResult<LoginResponse>.Refused(401, ErrorCodes.AssertionInvalid, "Invalid device assertion", detail);

        // Behind a TLS-terminating front end the API may see http:// for what the device called as https://.
        string[] audiences = options.Value.Audience is { } configured ? [configured.ToString()]
            : [.. audience.SelectMany(a => a.StartsWith("http://", StringComparison.Ordinal) ? new[] { a, "https://" + a["http://".Length..] } : [a]).Distinct()];

        if (string.IsNullOrEmpty(assertion) || assertion.Length > MaxAssertionLength || assertion.Split('.') is not [var header64, var payload64, var signature64])
        {
            return Invalid("Send {\"assertion\": \"<compact JWS>\"}: a JWT of three base64url parts signed by the device key.");
        }
        var header = ParseObject(header64);
        var payload = ParseObject(payload64);
        var signature = FromBase64Url(signature64);
        if (header is null || payload is null || signature is null)
        {
            return Invalid("The assertion is not a well-formed JWT.");
        }
        if (Str(header, "alg") != "ES256")
        {
            return Invalid("Only ES256 assertions are accepted.");
        }
        var deviceId = Str(payload, "sub");
        var device = IsDeviceId(deviceId) ? await store.GetAsync(deviceId!, cancellationToken).ConfigureAwait(false) : null;
        if (device is null)
        {
            return DeviceResult<LoginResponse>.Refused(401, ErrorCodes.DeviceUnknown, "Unknown device", "No device is enrolled with this id; enrol it with a new code.");
        }
        if (device.Revoked)
        {
            logger.LogWarning("Sign-in refused for revoked device {DeviceId} of kiosk {KioskId}", device.DeviceId, device.KioskId);
            return DeviceResult<LoginResponse>.Refused(401, ErrorCodes.DeviceRevoked, "Device removed", "This device was removed; ask a supervisor for a new enrolment code.");
        }
        using (var key = ImportKey(JsonSerializer.Deserialize<PublicJwk>(device.PublicKey, ProtocolJson.Options)))
        {
            if (key is null || signature.Length != 64
                || !key.VerifyData(Encoding.ASCII.GetBytes(header64 + "." + payload64), signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
            {
                return Invalid("The signature does not verify with this device's key.");
            }
        }
        var now = time.GetUtcNow();
        if (!audiences.Any(a => AudienceIs(payload, a)))
        {
            return Invalid($"The assertion's aud must be {audiences[^1]}.");
        }
        if (!(payload["iat"] is JsonValue iatValue && iatValue.TryGetValue<long>(out var iat))
            || Math.Abs((DateTimeOffset.FromUnixTimeSeconds(iat) - now).TotalSeconds) > options.Value.ClockSkew.TotalSeconds)
        {
            return Invalid($"The assertion's iat must be the current time (within {options.Value.ClockSkew.TotalSeconds:0} s); check the device's clock.");
        }
        if (Str(payload, "jti") is not { } jti || !JtiPattern().IsMatch(jti))
        {
            return Invalid("The assertion needs a jti of 16 to 128 letters, digits, - or _, new for every assertion.");
        }
        if (Str(payload, "nonce") is not { Length: > 0 and <= 128 } nonce || !await store.TryConsumeOnceAsync(NoncePartition, nonce, now, cancellationToken).ConfigureAwait(false))
        {
            return DeviceResult<LoginResponse>.Refused(401, ErrorCodes.NonceInvalid, "Invalid nonce", "Get a fresh nonce from GET /api/devices/nonce for every assertion; each works once, for a few minutes.");
        }
        if (!await store.TryAddOnceAsync(JtiPartition, $"{device.DeviceId}_{jti}", now + options.Value.ClockSkew * 2 + options.Value.NonceLifetime, cancellationToken).ConfigureAwait(false))
        {
            logger.LogWarning("Replayed assertion for device {DeviceId} refused", device.DeviceId);
            return DeviceResult<LoginResponse>.Refused(401, ErrorCodes.AssertionReplayed, "Assertion replayed", "This assertion was used before; sign a new one.");
        }
        if (await accounts.IssueForDeviceAsync(device.KioskId, device.DeviceId, cancellationToken).ConfigureAwait(false) is not { } login)
        {
            return DeviceResult<LoginResponse>.Refused(401, ErrorCodes.DeviceUnknown, "Unknown kiosk", $"The kiosk account '{device.KioskId}' this device was enrolled for no longer exists.");
        }
        device.LastSeen = now;
        device.UserAgent = Clip(userAgent) ?? device.UserAgent;
        await store.TryUpdateAsync(device, cancellationToken).ConfigureAwait(false);   // best effort: last seen is informational
        await audit.AddAsync(new AuditEntry("device-signed-in", now, device.KioskId, DeviceId: device.DeviceId), cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Device {DeviceId} signed in as kiosk {KioskId}", device.DeviceId, device.KioskId);
        return new(login);
    }
}
