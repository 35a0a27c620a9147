using Microsoft.Extensions.Logging;
using RailCloud.Protocol;
using RailCloud.Signaling.Http;
using RailCloud.Signaling.Hub;
using RailCloud.Signaling.Kiosks;
using RailCloud.Signaling.Storage;
using static RailCloud.Signaling.Devices.DeviceKeys;

namespace RailCloud.Signaling.Devices;

/// <summary>
/// The enrolled devices: listed for supervisors, revoked in one step (its tokens stop working at once and its open
/// connections close), and asked whether a device still counts. It also clears away used-up codes and nonces.
/// </summary>
public sealed class DeviceRegistry(DeviceStore store, AuditStore audit, Notifier notify, TimeProvider time, ILogger<DeviceRegistry> logger) : IDeviceStatus, IExpiredRows
{
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
        if (!IsDeviceId(deviceId))
        {
            return DeviceResult<DeviceView>.Refused(404, ErrorCodes.DeviceUnknown, "Unknown device", $"There is no device '{Ids.Shown(deviceId)}'.");
        }
        var revoked = false;
        var (device, _) = await store.UpdateAsync(deviceId, d =>
        {
            revoked = !d.Revoked;
            if (revoked)
            {
                d.Revoked = true;
                d.RevokedAt = time.GetUtcNow();
                d.RevokedBy = by;
            }
            return revoked;
        }, cancellationToken).ConfigureAwait(false);
        if (device is null)
        {
            return DeviceResult<DeviceView>.Refused(404, ErrorCodes.DeviceUnknown, "Unknown device", $"There is no device '{Ids.Shown(deviceId)}'.");
        }
        if (revoked)
        {
            await audit.AddAsync(new AuditEntry("device-revoked", device.RevokedAt!.Value, device.KioskId, Name: device.Name, DeviceId: device.DeviceId, By: by), cancellationToken).ConfigureAwait(false);
            logger.LogInformation("Device {DeviceId} of kiosk {KioskId} revoked by {By}", device.DeviceId, device.KioskId, by);
        }
        await notify.CloseDeviceAsync(device.DeviceId, ErrorCodes.DeviceRevoked, cancellationToken).ConfigureAwait(false);
        return new(ViewOf(device));
    }

    /// <summary>Deletes used-up and expired codes, nonces and assertion ids (reads already treat them as gone).</summary>
    public Task<int> DeleteExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken) => store.DeleteExpiredAsync(now, cancellationToken);
}
