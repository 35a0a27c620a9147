using RailCloud.Protocol;

namespace RailCloud.Signaling.Kiosks;

/// <summary>Who is watching which kiosk right now (Sessions answers): kiosk id → monitor id, live sessions only.</summary>
public interface IKioskWatchers
{
    Task<IReadOnlyDictionary<string, string>> WatchedAsync(DateTimeOffset now, CancellationToken cancellationToken);
}

/// <summary>The kiosk list monitors see: presence, crew, and who is watching.</summary>
public sealed class KioskDirectory(KioskStore kiosks, IKioskWatchers watchers, TimeProvider time)
{
    public async Task<IReadOnlyList<KioskView>> ListAsync(CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var kioskRows = kiosks.ListAsync(cancellationToken);
        var watching = await watchers.WatchedAsync(now, cancellationToken).ConfigureAwait(false);
        return [.. (await kioskRows.ConfigureAwait(false))
            .OrderBy(k => k.RowKey, StringComparer.Ordinal)
            .Select(k => new KioskView(k.RowKey, k.IsOnline(now), k.LastSeen, watching.GetValueOrDefault(k.RowKey), KioskStore.ReadCrew(k)))];
    }
}
