using Microsoft.Extensions.Logging;
using RailCloud.Protocol;
using RailCloud.Signaling.Hub;

namespace RailCloud.Signaling.Kiosks;

/// <summary>
/// Whether a kiosk is online, and on which connection: it comes online when it registers, each heartbeat keeps it so
/// until the deadline it is given, and it goes offline when its connection leaves or its deadline passes. Monitors
/// are told every change. Presence never rests on the <c>disconnected</c> event alone.
/// </summary>
public sealed class Presence(KioskStore kiosks, Notifier notify, TimeProvider time, ILogger<Presence> logger)
{
    /// <summary>
    /// The kiosk is online on <paramref name="connectionId"/> until <paramref name="until"/>. Returns its row (null when
    /// it has none: no such kiosk account) and the older connection it still had, which the new one replaces.
    /// Monitors are told by <see cref="AnnounceAsync"/>, once the registration is complete.
    /// </summary>
    public async Task<(KioskEntity? Kiosk, string? Replaced)> ComeOnlineAsync(string kioskId, string connectionId, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken)
    {
        string? replaced = null;
        var kiosk = await kiosks.UpdateAsync(kioskId, k =>
        {
            replaced = k.IsOnline(now) && k.ConnectionId != connectionId ? k.ConnectionId : null;
            k.Online = true;
            k.ConnectionId = connectionId;
            k.LastSeen = now;
            k.ExpiresAt = until;
            return true;
        }, cancellationToken).ConfigureAwait(false);
        return (kiosk, replaced);
    }

    /// <summary>Tells every monitor the kiosk is online.</summary>
    public Task AnnounceAsync(string kioskId, DateTimeOffset now, CancellationToken cancellationToken) =>
        notify.ToMonitorsAsync(new KioskOnline(kioskId, now), cancellationToken);

    /// <summary>A heartbeat from the kiosk's current connection: online until <paramref name="until"/>; monitors are told if it had lapsed.</summary>
    public async Task HeardFromAsync(string kioskId, string connectionId, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken)
    {
        var cameBack = false;
        await kiosks.UpdateAsync(kioskId, k =>
        {
            if (k.ConnectionId != connectionId)
            {
                return false; // replaced by a newer connection: this one no longer speaks for the kiosk
            }
            cameBack = !k.IsOnline(now);
            k.Online = true;
            k.LastSeen = now;
            k.ExpiresAt = until;
            return true;
        }, cancellationToken).ConfigureAwait(false);
        if (cameBack)
        {
            await AnnounceAsync(kioskId, now, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Takes a kiosk offline if <paramref name="connectionId"/> is still its connection; monitors are told.</summary>
    public async Task<bool> TakeOfflineAsync(string kioskId, string connectionId, string reason, CancellationToken cancellationToken = default)
    {
        var changed = false;
        await kiosks.UpdateAsync(kioskId, k =>
        {
            changed = k.Online && k.ConnectionId == connectionId;
            if (changed)
            {
                k.Online = false;
            }
            return changed;
        }, cancellationToken).ConfigureAwait(false);
        if (changed)
        {
            logger.LogInformation("Kiosk {KioskId} is offline: {Reason}", kioskId, reason);
            await notify.ToMonitorsAsync(new KioskOffline(kioskId, time.GetUtcNow(), reason), cancellationToken).ConfigureAwait(false);
        }
        return changed;
    }

    /// <summary>The sweep's part: kiosks not heard from by their deadline go offline (<c>heartbeat-lost</c>); how many did.</summary>
    public async Task<int> TakeLapsedOfflineAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var offline = 0;
        foreach (var kiosk in await kiosks.ListLapsedAsync(now, cancellationToken).ConfigureAwait(false))
        {
            kiosk.Online = false;
            if (await kiosks.TryReplaceAsync(kiosk, cancellationToken).ConfigureAwait(false))
            {
                offline++;
                logger.LogInformation("Kiosk {KioskId} is offline: no heartbeat since {LastSeen}", kiosk.RowKey, kiosk.LastSeen);
                await notify.ToMonitorsAsync(new KioskOffline(kiosk.RowKey, now, "heartbeat-lost"), cancellationToken).ConfigureAwait(false);
            }
        }
        return offline;
    }
}
