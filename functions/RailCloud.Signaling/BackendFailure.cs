using Azure;
using RailCloud.WebPubSub;

namespace RailCloud.Signaling;

/// <summary>
/// Tells a failure of what RailCloud stands on (Table Storage, Web PubSub, the network to them) from a bug. The
/// first is answered as <c>unavailable</c> (503 over HTTP) and retried by whoever can; the second stays a 500.
/// </summary>
public static class BackendFailure
{
    public static bool Is(Exception exception, CancellationToken cancellationToken = default) => exception switch
    {
        RequestFailedException or WebPubSubRequestException or HttpRequestException or TimeoutException or StorageContentionException => true,
        // Azure.Core gives up after its retries with every attempt's exception inside one AggregateException.
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(e => Is(e, cancellationToken)),
        // A timeout inside a client, not the caller giving up.
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        _ => false,
    };
}

/// <summary>A row kept changing under every attempt to update it: too much contention to finish now.</summary>
public sealed class StorageContentionException(string message) : Exception(message);
