using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RailCloud.Protocol;
using RailCloud.Signaling.Auth;
using RailCloud.Signaling.Storage;
using RailCloud.WebPubSub;

namespace RailCloud.Signaling.Devices;

/// <summary><c>Devices</c>: enrolment codes, nonces and device assertions.</summary>
public sealed class DeviceOptions
{
    public const string SectionName = "Devices";

    /// <summary>How long an enrolment code may be used.</summary>
    [Range(typeof(TimeSpan), "00:05:00", "30.00:00:00")]
    public TimeSpan EnrolmentLifetime { get; set; } = TimeSpan.FromHours(24);

    [Range(typeof(TimeSpan), "00:00:30", "00:30:00")]
    public TimeSpan NonceLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How far a device's clock may be from ours (the assertion's <c>iat</c>).</summary>
    [Range(typeof(TimeSpan), "00:00:05", "00:30:00")]
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>The kiosk page the enrolment URL points at; empty: <c>/kiosk</c> on the API's own origin (local runs).</summary>
    public Uri? KioskPageUrl { get; set; }

    /// <summary>The token route's public URL, when a proxy in front of the API makes it differ from what the API sees.</summary>
    public Uri? Audience { get; set; }

    /// <summary>
    /// Device sign-in requests (nonces and tokens) one client address may make a minute. Kept apart from the password
    /// allowance (<c>Auth:LoginsPerMinutePerAddress</c>): a device proves possession of a key that cannot be guessed,
    /// and a depot of kiosks behind one NAT address signs in all at once after a power cut (two requests each).
    /// </summary>
    [Range(2, 100_000)]
    public int SignInsPerMinutePerAddress { get; set; } = 600;
}

/// <summary>The answer of a device operation: a value, or a refusal with its HTTP status and stable code.</summary>
public sealed record DeviceResult<T>(T? Value, int Status = 200, string? Code = null, string? Title = null, string? Detail = null)
{
    public bool Ok => Code is null;

    public static DeviceResult<T> Refused(int status, string code, string title, string detail) => new(default, status, code, title, detail);
}

/// <summary>
/// Unattended kiosks: a supervisor makes a one-time code; the device registers an ECDSA P-256 public key with it;
/// from then on it signs in with a short ES256 assertion over a server nonce. Nothing long-lived travels, the
/// private key never leaves the device, and revoking a device voids its tokens and closes its connections.
/// </summary>
public sealed partial class DeviceService(
    DeviceStore store, AccountStore accounts, AuditStore audit, TokenService tokens, WebPubSubServiceClient webPubSub,
    IOptions<DeviceOptions> options, TimeProvider time, ILogger<DeviceService> logger)
{
    private const string NoncePartition = "nonce";
    private const string JtiPartition = "jti";
    private const int MaxAssertionLength = 4096;
    // Crockford's base32: no I, L, O or U, so a code read aloud or typed from a screen is not misread.
    private const string CodeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    [GeneratedRegex("^dev-[0-9a-f]{32}$")]
    private static partial Regex DeviceIdPattern();

    [GeneratedRegex("^[A-Za-z0-9_-]{16,128}$")]
    private static partial Regex JtiPattern();

    /// <summary>The Web PubSub group an enrolled device's connections join.</summary>
    public static string GroupFor(string deviceId) => "device." + deviceId;

    public static bool IsDeviceId(string? id) => id is not null && DeviceIdPattern().IsMatch(id);

    /// <summary>A new one-time code for the kiosk; the kiosk's previous code stops working.</summary>
    public async Task<DeviceResult<EnrolmentResponse>> CreateEnrolmentAsync(string kioskId, string by, Uri defaultPage, CancellationToken cancellationToken)
    {
        var account = AccountService.IdPattern().IsMatch(kioskId) ? await accounts.GetAsync(kioskId, cancellationToken).ConfigureAwait(false) : null;
        if (account is not { Role: Roles.Kiosk })
        {
            return DeviceResult<EnrolmentResponse>.Refused(404, ErrorCodes.UnknownKiosk, "Unknown kiosk", $"There is no kiosk account '{AccountService.Truncate(kioskId)}'; create it first (railcloud accounts add {AccountService.Truncate(kioskId)} --role kiosk).");
        }
        var code = NewCode();
        var hash = Hash(code);
        var now = time.GetUtcNow();
        var expiresAt = now + options.Value.EnrolmentLifetime;
        await store.AddCodeAsync(new EnrolmentCodeEntity { RowKey = hash, KioskId = kioskId, CreatedBy = by, ExpiresAt = expiresAt }, cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            var current = await store.GetCurrentAsync(kioskId, cancellationToken).ConfigureAwait(false);
            if (await store.TrySetCurrentAsync(kioskId, hash, current, cancellationToken).ConfigureAwait(false))
            {
                if (current is not null)
                {
                    await store.DeleteCodeAsync(current.CodeHash, cancellationToken).ConfigureAwait(false);
                }
                break;
            }
            if (attempt == 5)
            {
                // Another supervisor kept making codes for this kiosk at the same moment: theirs stands.
                await store.DeleteCodeAsync(hash, cancellationToken).ConfigureAwait(false);
                return DeviceResult<EnrolmentResponse>.Refused(503, ErrorCodes.Unavailable, "Try again", "Enrolment codes for this kiosk kept changing; try again.");
            }
        }
        await audit.AddAsync(new AuditEntry("enrolment-created", now, kioskId, By: by), cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Enrolment code for kiosk {KioskId} created by {By}, valid until {ExpiresAt}", kioskId, by, expiresAt);
        var page = options.Value.KioskPageUrl ?? defaultPage;
        var url = new UriBuilder(page) { Query = "enrol=" + code }.Uri.ToString();
        return new(new EnrolmentResponse(code, url, expiresAt, kioskId));
    }

    /// <summary>Registers a device's public key with a code; the code is used up whether or not it was the last one made.</summary>
    public async Task<DeviceResult<DeviceRegistrationResponse>> RegisterAsync(DeviceRegistrationRequest request, string? userAgent, CancellationToken cancellationToken)
    {
        if (ImportKey(request.PublicKey) is not { } key)
        {
            return DeviceResult<DeviceRegistrationResponse>.Refused(400, ErrorCodes.InvalidPayload, "Invalid public key", "publicKey must be an EC P-256 public key as a JWK: {\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"…\",\"y\":\"…\"}.");
        }
        using (key)
        {
            var name = request.Name?.Trim();
            if (name is { Length: > Limits.MaxCrewNameLength } || (name is not null && name.Any(char.IsControl)))
            {
                return DeviceResult<DeviceRegistrationResponse>.Refused(400, ErrorCodes.InvalidPayload, "Invalid device name", $"A device name has at most {Limits.MaxCrewNameLength} characters and no control characters.");
            }
            var now = time.GetUtcNow();
            var code = request.Code is { Length: > 0 and <= 64 } c ? await store.GetCodeAsync(Hash(c), cancellationToken).ConfigureAwait(false) : null;
            // One answer for unknown, expired, voided and used codes: nothing to learn from the difference.
            if (code is null || code.ExpiresAt <= now || !await store.TryUseAsync(code, code.ExpiresAt, cancellationToken).ConfigureAwait(false))
            {
                logger.LogWarning("Device enrolment refused: the code is unknown, expired or used");
                return DeviceResult<DeviceRegistrationResponse>.Refused(400, ErrorCodes.EnrolmentInvalid, "Invalid enrolment code", "This enrolment code is wrong, has expired or was used already. Ask a supervisor for a new one.");
            }
            var device = new DeviceEntity
            {
                RowKey = "dev-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
                KioskId = code.KioskId,
                Name = string.IsNullOrEmpty(name) ? null : name,
                PublicKey = JsonSerializer.Serialize(new { kty = "EC", crv = "P-256", x = request.PublicKey!.X, y = request.PublicKey.Y }),
                EnrolledAt = now,
                EnrolledBy = code.CreatedBy,
                UserAgent = Clip(userAgent),
            };
            await store.AddAsync(device, cancellationToken).ConfigureAwait(false);
            await audit.AddAsync(new AuditEntry("device-enrolled", now, device.KioskId, Name: device.Name, DeviceId: device.DeviceId, By: code.CreatedBy), cancellationToken).ConfigureAwait(false);
            logger.LogInformation("Device {DeviceId} enrolled for kiosk {KioskId} with a code from {By}", device.DeviceId, device.KioskId, code.CreatedBy);
            return new(new DeviceRegistrationResponse(device.DeviceId, device.KioskId));
        }
    }

    public async Task<NonceResponse> IssueNonceAsync(CancellationToken cancellationToken)
    {
        var nonce = System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var expiresAt = time.GetUtcNow() + options.Value.NonceLifetime;
        await store.TryAddOnceAsync(NoncePartition, nonce, expiresAt, cancellationToken).ConfigureAwait(false);
        return new NonceResponse(nonce, expiresAt);
    }

    /// <summary>
    /// Signs a device in with its assertion: a compact JWS, ES256 only, signed by the device key, with <c>sub</c> (the
    /// device id), <c>aud</c> (one of <paramref name="audience"/>), <c>iat</c> (within the clock skew), a one-time <c>jti</c>
    /// and a server <c>nonce</c>. Answers the same token a password login would, carrying the device id.
    /// </summary>
    public async Task<DeviceResult<LoginResponse>> SignInAsync(string? assertion, IReadOnlyList<string> audience, string? userAgent, CancellationToken cancellationToken)
    {
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
        if (await accounts.GetAsync(device.KioskId, cancellationToken).ConfigureAwait(false) is not { Role: Roles.Kiosk })
        {
            return DeviceResult<LoginResponse>.Refused(401, ErrorCodes.DeviceUnknown, "Unknown kiosk", $"The kiosk account '{device.KioskId}' this device was enrolled for no longer exists.");
        }
        device.LastSeen = now;
        device.UserAgent = Clip(userAgent) ?? device.UserAgent;
        await store.TryUpdateAsync(device, cancellationToken).ConfigureAwait(false);   // best effort: last seen is informational
        var (token, expiresAt) = tokens.Issue(device.KioskId, Roles.Kiosk, device.DeviceId);
        await audit.AddAsync(new AuditEntry("device-signed-in", now, device.KioskId, DeviceId: device.DeviceId), cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Device {DeviceId} signed in as kiosk {KioskId}", device.DeviceId, device.KioskId);
        return new(new LoginResponse(token, expiresAt, Roles.Kiosk, device.KioskId));
    }

    /// <summary>True when a device token's device is still enrolled for that kiosk.</summary>
    public async Task<bool> IsActiveAsync(string deviceId, string kioskId, CancellationToken cancellationToken)
    {
        var device = IsDeviceId(deviceId) ? await store.GetAsync(deviceId, cancellationToken).ConfigureAwait(false) : null;
        return device is { Revoked: false } && device.KioskId == kioskId;
    }

    public async Task<IReadOnlyList<DeviceView>> ListAsync(CancellationToken cancellationToken) =>
        [.. (await store.ListAsync(cancellationToken).ConfigureAwait(false))
            .Where(d => !d.Revoked)
            .OrderBy(d => d.KioskId, StringComparer.Ordinal).ThenBy(d => d.EnrolledAt)
            .Select(ViewOf)];

    private static DeviceView ViewOf(DeviceEntity d) => new(d.DeviceId, d.KioskId, d.Name, d.EnrolledAt, d.EnrolledBy, d.LastSeen, d.UserAgent);

    /// <summary>Revokes a device: its tokens stop working at once and its open connections close.</summary>
    public async Task<DeviceResult<DeviceView>> RevokeAsync(string deviceId, string by, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var device = IsDeviceId(deviceId) ? await store.GetAsync(deviceId, cancellationToken).ConfigureAwait(false) : null;
            if (device is null)
            {
                return DeviceResult<DeviceView>.Refused(404, ErrorCodes.DeviceUnknown, "Unknown device", $"There is no device '{AccountService.Truncate(deviceId)}'.");
            }
            var view = ViewOf(device);
            if (!device.Revoked)
            {
                device.Revoked = true;
                device.RevokedAt = time.GetUtcNow();
                device.RevokedBy = by;
                if (!await store.TryUpdateAsync(device, cancellationToken).ConfigureAwait(false))
                {
                    continue;
                }
                await audit.AddAsync(new AuditEntry("device-revoked", device.RevokedAt.Value, device.KioskId, Name: device.Name, DeviceId: device.DeviceId, By: by), cancellationToken).ConfigureAwait(false);
                logger.LogInformation("Device {DeviceId} of kiosk {KioskId} revoked by {By}", device.DeviceId, device.KioskId, by);
            }
            await webPubSub.CloseGroupConnectionsAsync(GroupFor(device.DeviceId), reason: ErrorCodes.DeviceRevoked, cancellationToken: cancellationToken).ConfigureAwait(false);
            return new(view);
        }
        return DeviceResult<DeviceView>.Refused(503, ErrorCodes.Unavailable, "Try again", "The device kept changing; try again.");
    }

    private static bool AudienceIs(JsonObject payload, string audience) => payload["aud"] switch
    {
        JsonValue single => single.TryGetValue<string>(out var aud) && aud == audience,
        JsonArray many => many.Any(a => a is JsonValue v && v.TryGetValue<string>(out var aud) && aud == audience),
        _ => false,
    };

    /// <summary>An ECDSA P-256 public key from a JWK, or null when it is not one (wrong type, curve, size, or off the curve).</summary>
    internal static ECDsa? ImportKey(PublicJwk? jwk)
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

    private static string NewCode()
    {
        // 160 bits from 32 characters of 5 bits each.
        var bytes = RandomNumberGenerator.GetBytes(32);
        return new string([.. bytes.Select(b => CodeAlphabet[b & 31])]);
    }

    /// <summary>The stored form of a code: SHA-256 of it as typed, upper case, without spaces or dashes.</summary>
    internal static string Hash(string code) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(code.Replace("-", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant())));

    private static JsonObject? ParseObject(string part)
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

    private static string? Str(JsonObject json, string name) =>
        json[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    /// <summary>Base64url without padding or whitespace (RFC 7515), or null for anything else.</summary>
    private static byte[]? FromBase64Url(string? text)
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

    private static string? Clip(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Length > 256 ? text[..256] : text;
}
