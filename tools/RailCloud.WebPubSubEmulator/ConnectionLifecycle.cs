using System.Net.WebSockets;
using System.Text;

namespace RailCloud.WebPubSubEmulator;

/// <summary>Where every connection ends, whoever ends it: removed from its hub once, and <c>disconnected</c> sent upstream once.</summary>
public sealed class ConnectionLifecycle(HubRegistry hubs, UpstreamInvoker upstream, AsyncEventTracker tracker, TimeProvider time, IHostApplicationLifetime lifetime, ILogger<ConnectionLifecycle> logger)
{
    /// <summary>Ends a connection from the service side (REST close, policy, overflow); it cannot be recovered.</summary>
    public void Close(ClientConnection connection, WebSocketCloseStatus status, string reason)
    {
        if (connection.End(status, reason))
        {
            Finish(connection, reason);
        }
    }

    /// <summary>Ends a connection whose client went away (or whose recovery window passed).</summary>
    public void Lost(ClientConnection connection, string reason)
    {
        if (connection.MarkEnded())
        {
            Finish(connection, reason);
        }
    }

    public void Connected(ClientConnection connection)
    {
        logger.LogInformation("Connection {ConnectionId} (user {UserId}, {Kind}) connected to hub {Hub}", connection.Id, connection.UserId, connection.Kind, connection.Hub);
        SendAsyncEvent(connection, "connected", "{}"u8.ToArray());
    }

    private void Finish(ClientConnection connection, string reason)
    {
        hubs.Get(connection.Hub).Remove(connection);
        logger.LogInformation("Connection {ConnectionId} (user {UserId}) left hub {Hub}: {Reason}", connection.Id, connection.UserId, connection.Hub, reason);
        var body = Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(new { reason }));
        SendAsyncEvent(connection, "disconnected", body);
    }

    private void SendAsyncEvent(ClientConnection connection, string name, byte[] body)
    {
        if (upstream.FindSystemHandler(connection.Hub, name) is not { } handler)
        {
            return;
        }
        var eventId = connection.NextEventId();
        tracker.Chain(connection, async () =>
        {
            try
            {
                await upstream.InvokeAsync(handler, connection, connection.Hub, connection.Id, connection.UserId, connection.Subprotocol, connection.ConnectionState,
                    eventId, isSystem: true, name, body, "application/json; charset=utf-8", retry: true, lifetime.ApplicationStopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                logger.LogInformation("Shutting down: {EventName} for connection {ConnectionId} was not delivered", name, connection.Id);
            }
        });
    }

    /// <summary>For a reliable client whose socket dropped: end it unless it comes back within the window.</summary>
    public void ExpireUnlessRecovered(ClientConnection connection, int generation, TimeSpan window)
    {
        tracker.Chain(connection, async () =>
        {
            try
            {
                await Task.Delay(window, time, lifetime.ApplicationStopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (!connection.IsAttached && connection.Generation == generation)
            {
                Lost(connection, "The connection dropped and was not recovered in time.");
            }
        });
    }
}
