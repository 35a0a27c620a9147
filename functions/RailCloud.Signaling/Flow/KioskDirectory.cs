using RailCloud.Protocol;
using RailCloud.Signaling.Storage;

namespace RailCloud.Signaling.Flow;

/// <summary>The kiosk list monitors see: presence, crew, and who is watching.</summary>
public sealed class KioskDirectory(KioskStore kiosks, SessionStore sessions, TimeProvider time)
{
    public async Task<IReadOnlyList<KioskView>> ListAsync(CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var kioskRows = kiosks.ListAsync(cancellationToken);
        var sessionRows = sessions.ListAsync(cancellationToken);
        var watching = (await sessionRows.ConfigureAwait(false)).Where(s => s.IsLive(now)).ToDictionary(s => s.KioskId, s => s.MonitorId);
        return [.. (await kioskRows.ConfigureAwait(false))
            .OrderBy(k => k.RowKey, StringComparer.Ordinal)
            .Select(k => new KioskView(k.RowKey, k.IsOnline(now), k.LastSeen, watching.GetValueOrDefault(k.RowKey), KioskStore.ReadCrew(k)))];
    }
}
