using Azure;
using Azure.Data.Tables;
using RailCloud.Signaling.Storage;

namespace RailCloud.Signaling.Devices;

/// <summary>An enrolled device. PartitionKey "device", RowKey = device id. Kept (revoked) after revocation, so its
/// tokens and connections are told "removed" rather than "unknown".</summary>
public sealed class DeviceEntity : ITableEntity
{
    public const string Partition = "device";
    public string PartitionKey { get; set; } = Partition;
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string KioskId { get; set; } = "";
    public string? Name { get; set; }
    /// <summary>The device's ECDSA P-256 public key as a JWK (JSON); the private key never leaves the device.</summary>
    public string PublicKey { get; set; } = "";
    public DateTimeOffset EnrolledAt { get; set; }
    public string EnrolledBy { get; set; } = "";
    public DateTimeOffset? LastSeen { get; set; }
    public string? UserAgent { get; set; }
    public bool Revoked { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
    public string? RevokedBy { get; set; }

    public string DeviceId => RowKey;
}

/// <summary>A one-time enrolment code, stored only as its SHA-256. PartitionKey "code", RowKey = the hash.</summary>
public sealed class EnrolmentCodeEntity : ITableEntity
{
    public const string Partition = "code";
    public string PartitionKey { get; set; } = Partition;
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string KioskId { get; set; } = "";
    public string CreatedBy { get; set; } = "";
    public DateTimeOffset ExpiresAt { get; set; }
}

/// <summary>Which code is a kiosk's current one (a new code voids the last). PartitionKey "enrolment", RowKey = kiosk id.</summary>
public sealed class CurrentEnrolmentEntity : ITableEntity
{
    public const string Partition = "enrolment";
    public string PartitionKey { get; set; } = Partition;
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string CodeHash { get; set; } = "";
}

/// <summary>A single-use value: a server nonce (PartitionKey "nonce") or a used assertion id (PartitionKey "jti").</summary>
public sealed class OnceEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }
}

/// <summary>Devices, enrolment codes and single-use values; every "only once" is an insert-if-absent or an If-Match delete.</summary>
public sealed class DeviceStore(Tables tables)
{
    private TableClient Table => tables.Devices;

    /// <summary>Creates RailCloud's tables on a fresh deployment's first request (a flag check afterwards).</summary>
    public ValueTask EnsureTablesAsync(CancellationToken cancellationToken = default) => tables.EnsureCreatedAsync(cancellationToken);

    public Task<DeviceEntity?> GetAsync(string deviceId, CancellationToken cancellationToken = default) =>
        Table.FindAsync<DeviceEntity>(DeviceEntity.Partition, deviceId, cancellationToken);

    public async Task AddAsync(DeviceEntity device, CancellationToken cancellationToken = default) =>
        await Table.AddEntityAsync(device, cancellationToken).ConfigureAwait(false);

    /// <summary>Writes the device back if nobody changed it since it was read.</summary>
    public Task<bool> TryUpdateAsync(DeviceEntity device, CancellationToken cancellationToken = default) => Table.TryReplaceAsync(device, cancellationToken);

    /// <summary>Read, change, write with If-Match, again on a conflict; the device as last read (null when there is none) and whether it was written.</summary>
    public Task<(DeviceEntity? Row, bool Written)> UpdateAsync(string deviceId, Func<DeviceEntity, bool> change, CancellationToken cancellationToken = default) =>
        Optimistic.UpdateAsync(() => GetAsync(deviceId, cancellationToken), change, d => TryUpdateAsync(d, cancellationToken), $"Device {deviceId}");

    public async Task<IReadOnlyList<DeviceEntity>> ListAsync(CancellationToken cancellationToken = default) =>
        await Table.QueryAsync<DeviceEntity>(d => d.PartitionKey == DeviceEntity.Partition, cancellationToken: cancellationToken).ToListAsync().ConfigureAwait(false);

    public async Task AddCodeAsync(EnrolmentCodeEntity code, CancellationToken cancellationToken = default) =>
        await Table.AddEntityAsync(code, cancellationToken).ConfigureAwait(false);

    public Task<EnrolmentCodeEntity?> GetCodeAsync(string hash, CancellationToken cancellationToken = default) =>
        Table.FindAsync<EnrolmentCodeEntity>(EnrolmentCodeEntity.Partition, hash, cancellationToken);

    /// <summary>
    /// Uses up a row that was read (a code, a nonce): of any number of racers holding it, exactly one gets true. The
    /// claim is an insert-if-absent of a "used" marker (409 for everybody else), which every store does atomically;
    /// a conditional delete is not enough (Azurite lets two concurrent If-Match deletes of one row both succeed).
    /// </summary>
    public async Task<bool> TryUseAsync(ITableEntity row, DateTimeOffset keepUntil, CancellationToken cancellationToken = default)
    {
        if (!await TryAddOnceAsync("used-" + row.PartitionKey, row.RowKey, keepUntil, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        await Table.DeleteEntityAsync(row.PartitionKey, row.RowKey, ETag.All, cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task DeleteCodeAsync(string hash, CancellationToken cancellationToken = default) =>
        await Table.DeleteEntityAsync(EnrolmentCodeEntity.Partition, hash, ETag.All, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Makes <paramref name="hash"/> the kiosk's current code and deletes the code it replaces; false when the pointer
    /// kept changing (other supervisors making codes for this kiosk at the same moment).
    /// </summary>
    public async Task<bool> MakeCurrentAsync(string kioskId, string hash, CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; attempt < Optimistic.Attempts; attempt++)
        {
            var current = await Table.FindAsync<CurrentEnrolmentEntity>(CurrentEnrolmentEntity.Partition, kioskId, cancellationToken).ConfigureAwait(false);
            var row = new CurrentEnrolmentEntity { RowKey = kioskId, CodeHash = hash, ETag = current?.ETag ?? default };
            if (current is null ? await Table.TryAddAsync(row, cancellationToken).ConfigureAwait(false) : await Table.TryReplaceAsync(row, cancellationToken).ConfigureAwait(false))
            {
                if (current is not null)
                {
                    await DeleteCodeAsync(current.CodeHash, cancellationToken).ConfigureAwait(false);
                }
                return true;
            }
        }
        return false;
    }

    /// <summary>Records a single-use value; false when it was recorded before (a replay).</summary>
    public Task<bool> TryAddOnceAsync(string partition, string value, DateTimeOffset expiresAt, CancellationToken cancellationToken = default) =>
        Table.TryAddAsync(new OnceEntity { PartitionKey = partition, RowKey = value, ExpiresAt = expiresAt }, cancellationToken);

    /// <summary>Uses up a single-use value: true once, for a value that exists and has not expired.</summary>
    public async Task<bool> TryConsumeOnceAsync(string partition, string value, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var once = await Table.FindAsync<OnceEntity>(partition, value, cancellationToken).ConfigureAwait(false);
        return once is not null && once.ExpiresAt > now && await TryUseAsync(once, once.ExpiresAt, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes used-up and expired codes, nonces and assertion ids (reads already treat them as gone).</summary>
    public async Task<int> DeleteExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var deleted = 0;
        var filter = TableClient.CreateQueryFilter($"ExpiresAt lt {now}");
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var response = await Table.DeleteEntityAsync(row.PartitionKey, row.RowKey, ETag.All, cancellationToken).ConfigureAwait(false);
            deleted += response.Status == 404 ? 0 : 1;
        }
        return deleted;
    }
}
