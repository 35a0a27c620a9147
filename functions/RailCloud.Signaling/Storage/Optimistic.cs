namespace RailCloud.Signaling.Storage;

/// <summary>
/// Optimistic concurrency, once for every store: read a row, change it, write it back only if nobody else changed it
/// in between (If-Match), and on a conflict read it again, up to <see cref="Attempts"/> times. Past that the row is
/// too contended to finish now, which callers answer as <c>unavailable</c>.
/// </summary>
public static class Optimistic
{
    public const int Attempts = 10;

    /// <summary>
    /// <paramref name="change"/> returns false to leave the row as it is. Returns the row as last read (null when there
    /// is none) and whether it was written.
    /// </summary>
    public static async Task<(T? Row, bool Written)> UpdateAsync<T>(Func<Task<T?>> read, Func<T, bool> change, Func<T, Task<bool>> tryWrite, string what) where T : class
    {
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var row = await read().ConfigureAwait(false);
            if (row is null || !change(row))
            {
                return (row, false);
            }
            if (await tryWrite(row).ConfigureAwait(false))
            {
                return (row, true);
            }
        }
        throw new StorageContentionException($"{what} kept changing under {Attempts} attempts to update it.");
    }
}

/// <summary>Rows that have expired and are only waiting to be deleted: the sweep asks each feature that keeps some.</summary>
public interface IExpiredRows
{
    /// <summary>Deletes the rows that expired before <paramref name="now"/>; how many went.</summary>
    Task<int> DeleteExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken);
}
