using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RailCloud.Protocol;
using RailCloud.Signaling.Accounts;
using RailCloud.Signaling.Kiosks;
using static RailCloud.Signaling.Devices.DeviceKeys;

namespace RailCloud.Signaling.Devices;

/// <summary>
/// A supervisor makes a one-time code for a kiosk (160 bits, shown once, stored only as its SHA-256, valid for
/// <see cref="DeviceOptions.EnrolmentLifetime"/>, void once a newer one is made); a device registers an ECDSA P-256
/// public key with it. The private key never leaves the device.
/// </summary>
public sealed class DeviceEnrolment(DeviceStore store, AccountStore accounts, AuditStore audit, IOptions<DeviceOptions> options, TimeProvider time, ILogger<DeviceEnrolment> logger)
{
    /// <summary>A new one-time code for the kiosk; the kiosk's previous code stops working.</summary>
    public async Task<DeviceResult<EnrolmentResponse>> CreateEnrolmentAsync(string kioskId, string by, Uri defaultPage, CancellationToken cancellationToken)
    {
        var account = Ids.IsValid(kioskId) ? await accounts.GetAsync(kioskId, cancellationToken).ConfigureAwait(false) : null;
        if (account is not { Role: Roles.Kiosk })
        {
            return DeviceResult<EnrolmentResponse>.Refused(404, ErrorCodes.UnknownKiosk, "Unknown kiosk", $"There is no kiosk account '{Ids.Shown(kioskId)}'; create it first (railcloud accounts add {Ids.Shown(kioskId)} --role kiosk).");
        }
        var code = NewCode();
        var hash = Hash(code);
        var now = time.GetUtcNow();
        var expiresAt = now + options.Value.EnrolmentLifetime;
        await store.AddCodeAsync(new EnrolmentCodeEntity { RowKey = hash, KioskId = kioskId, CreatedBy = by, ExpiresAt = expiresAt }, cancellationToken).ConfigureAwait(false);
        if (!await store.MakeCurrentAsync(kioskId, hash, cancellationToken).ConfigureAwait(false))
        {
            // Another supervisor kept making codes for this kiosk at the same moment: theirs stands.
            await store.DeleteCodeAsync(hash, cancellationToken).ConfigureAwait(false);
            return DeviceResult<EnrolmentResponse>.Refused(503, ErrorCodes.Unavailable, "Try again", "Enrolment codes for this kiosk kept changing; try again.");
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
        await store.EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        using var key = ImportKey(request.PublicKey);
        if (key is null)
        {
            return DeviceResult<DeviceRegistrationResponse>.Refused(400, ErrorCodes.InvalidPayload, "Invalid public key", "publicKey must be an EC P-256 public key as a JWK: {\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"…\",\"y\":\"…\"}.");
        }
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
            RowKey = NewDeviceId(),
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
