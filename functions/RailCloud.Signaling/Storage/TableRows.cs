using Azure;
using Azure.Data.Tables;

namespace RailCloud.Signaling.Storage;

/// <summary>The table plumbing every store shares: a query read to the end, a point read, and the conditional writes.</summary>
public static class TableRows
{
    /// <summary>Every row a query returns, all pages.</summary>
    public static async Task<List<T>> ToListAsync<T>(this AsyncPageable<T> rows) where T : notnull
    {
        var list = new List<T>();
        await foreach (var row in rows.ConfigureAwait(false))
        {
            list.Add(row);
        }
        return list;
    }

    /// <summary>The row, or null when there is none.</summary>
    public static async Task<T?> FindAsync<T>(this TableClient table, string partitionKey, string rowKey, CancellationToken cancellationToken = default) where T : class, ITableEntity
    {
        var response = await table.GetEntityIfExistsAsync<T>(partitionKey, rowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>Inserts the row if there is none with its keys; false when there is (409).</summary>
    public static async Task<bool> TryAddAsync<T>(this TableClient table, T row, CancellationToken cancellationToken = default) where T : ITableEntity
    {
        try
        {
            var response = await table.AddEntityAsync(row, cancellationToken).ConfigureAwait(false);
            row.ETag = response.Headers.ETag ?? row.ETag;   // the row as written: no read-back needed to change it later
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return false;
        }
    }

    /// <summary>
    /// Writes a changed row back if it is still the version that was read (If-Match on its ETag), and takes the new
    /// ETag; false when somebody changed or deleted it meanwhile.
    /// </summary>
    public static async Task<bool> TryReplaceAsync<T>(this TableClient table, T row, CancellationToken cancellationToken = default) where T : ITableEntity
    {
        try
        {
            var response = await table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            row.ETag = response.Headers.ETag ?? row.ETag;
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            return false;
        }
    }

    /// <summary>Deletes exactly this version of the row; false when it changed or is gone.</summary>
    public static async Task<bool> TryDeleteAsync<T>(this TableClient table, T row, CancellationToken cancellationToken = default) where T : ITableEntity
    {
        try
        {
            var response = await table.DeleteEntityAsync(row.PartitionKey, row.RowKey, row.ETag, cancellationToken).ConfigureAwait(false);
            return response.Status != 404;
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            return false;
        }
    }
}
