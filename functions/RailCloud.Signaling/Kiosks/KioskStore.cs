using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using RailCloud.Protocol;
using RailCloud.Signaling.Storage;

namespace RailCloud.Signaling.Kiosks;

/// <summary>A kiosk's presence. PartitionKey "kiosk", RowKey = kiosk id; created with the kiosk account.</summary>
public sealed class KioskEntity : ITableEntity
{
    public const string Partition = "kiosk";
    public string PartitionKey { get; set; } = Partition;
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public bool Online { get; set; }
    public string? ConnectionId { get; set; }
    public DateTimeOffset? LastSeen { get; set; }
    /// <summary>Presence lapses at this instant unless a heartbeat extends it.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }
    /// <summary>Crew on duty, JSON array of <see cref="Protocol.CrewOnDuty"/>.</summary>
    public string Crew { get; set; } = "[]";

    public bool IsOnline(DateTimeOffset now) => Online && ExpiresAt > now;
}

/// <summary>Kiosk presence and crew on duty.</summary>
public sealed class KioskStore(Tables tables)
{
    public Task<KioskEntity?> GetAsync(string kioskId, CancellationToken cancellationToken = default) =>
        tables.Kiosks.FindAsync<KioskEntity>(KioskEntity.Partition, kioskId, cancellationToken);

    /// <summary>Makes the presence row of a new kiosk account (offline); nothing if it exists (a kiosk keeps its row across account changes).</summary>
    public Task EnsureAsync(string kioskId, CancellationToken cancellationToken = default) =>
        tables.Kiosks.TryAddAsync(new KioskEntity { RowKey = kioskId }, cancellationToken);

    public async Task DeleteAsync(string kioskId, CancellationToken cancellationToken = default) =>
        await tables.Kiosks.DeleteEntityAsync(KioskEntity.Partition, kioskId, ETag.All, cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyList<KioskEntity>> ListAsync(CancellationToken cancellationToken = default) =>
        await tables.Kiosks.QueryAsync<KioskEntity>(k => k.PartitionKey == KioskEntity.Partition, cancellationToken: cancellationToken).ToListAsync().ConfigureAwait(false);

    /// <summary>Online kiosks whose presence lapsed (no heartbeat within the TTL).</summary>
    public async Task<IReadOnlyList<KioskEntity>> ListLapsedAsync(DateTimeOffset now, CancellationToken cancellationToken = default) =>
        await tables.Kiosks.QueryAsync<KioskEntity>(k => k.PartitionKey == KioskEntity.Partition && k.Online == true && k.ExpiresAt < now, cancellationToken: cancellationToken).ToListAsync().ConfigureAwait(false);

    /// <summary>Online kiosks whose presence was live at <paramref name="since"/> and lapses before <paramref name="until"/>.</summary>
    public async Task<IReadOnlyList<KioskEntity>> ListLapsingSinceAsync(DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken = default) =>
        await tables.Kiosks.QueryAsync<KioskEntity>(k => k.PartitionKey == KioskEntity.Partition && k.Online == true && k.ExpiresAt >= since && k.ExpiresAt < until, cancellationToken: cancellationToken).ToListAsync().ConfigureAwait(false);

    /// <summary>Writes a changed row if nobody else changed it since it was read.</summary>
    public Task<bool> TryReplaceAsync(KioskEntity kiosk, CancellationToken cancellationToken = default) =>
        tables.Kiosks.TryReplaceAsync(kiosk, cancellationToken);

    /// <summary>Read, change, write with If-Match, again on a conflict. Returns the row as written (or as read, when <paramref name="change"/> said no), or null if it does not exist.</summary>
    public async Task<KioskEntity?> UpdateAsync(string kioskId, Func<KioskEntity, bool> change, CancellationToken cancellationToken = default) =>
        (await Optimistic.UpdateAsync(() => GetAsync(kioskId, cancellationToken), change, k => TryReplaceAsync(k, cancellationToken), $"Kiosk {kioskId}").ConfigureAwait(false)).Row;

    public static List<CrewOnDuty> ReadCrew(KioskEntity kiosk) =>
        JsonSerializer.Deserialize<List<CrewOnDuty>>(kiosk.Crew, ProtocolJson.Options) ?? [];

    public static void WriteCrew(KioskEntity kiosk, List<CrewOnDuty> crew) =>
        kiosk.Crew = JsonSerializer.Serialize(crew, ProtocolJson.Options);
}
