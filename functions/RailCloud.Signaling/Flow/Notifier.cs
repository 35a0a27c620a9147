using Microsoft.Extensions.Logging;
using RailCloud.Protocol;
using RailCloud.Signaling.WebPubSub;

namespace RailCloud.Signaling.Flow;

/// <summary>Pushes server messages to clients through Web PubSub. A failed push is logged, never fatal to the caller's own answer.</summary>
public sealed class Notifier(WebPubSubServiceClient service, ILogger<Notifier> logger)
{
    public const string MonitorsGroup = "monitors";

    public async Task<bool> ToConnectionAsync(string connectionId, ServerMessage message, CancellationToken cancellationToken = default)
    {
        try
        {
            await service.SendToConnectionAsync(connectionId, BinaryData.FromBytes(ProtocolJson.Serialize(message)), WebPubSubContentType.Json, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (WebPubSubRequestException ex)
        {
            logger.LogWarning("Could not send {Event} to connection {ConnectionId}: {Error}", message.Event, connectionId, ex.Message);
            return false;
        }
    }

    public async Task ToMonitorsAsync(ServerMessage message, CancellationToken cancellationToken = default)
    {
        try
        {
            await service.SendToGroupAsync(MonitorsGroup, BinaryData.FromBytes(ProtocolJson.Serialize(message)), WebPubSubContentType.Json, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (WebPubSubRequestException ex)
        {
            logger.LogWarning("Could not send {Event} to the monitors: {Error}", message.Event, ex.Message);
        }
    }

    public Task AddMonitorAsync(string connectionId, CancellationToken cancellationToken = default) =>
        service.AddConnectionToGroupAsync(MonitorsGroup, connectionId, cancellationToken);

    public async Task CloseAsync(string connectionId, string reason, CancellationToken cancellationToken = default)
    {
        try
        {
            await service.CloseConnectionAsync(connectionId, reason, cancellationToken).ConfigureAwait(false);
        }
        catch (WebPubSubRequestException ex)
        {
            logger.LogWarning("Could not close connection {ConnectionId}: {Error}", connectionId, ex.Message);
        }
    }

    public async Task CloseUserAsync(string userId, string reason, CancellationToken cancellationToken = default)
    {
        try
        {
            await service.CloseUserConnectionsAsync(userId, reason: reason, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (WebPubSubRequestException ex)
        {
            logger.LogWarning("Could not close the connections of {UserId}: {Error}", userId, ex.Message);
        }
    }
}
