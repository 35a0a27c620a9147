using Microsoft.Extensions.Logging;
using RailCloud.Protocol;
using RailCloud.WebPubSub;

namespace RailCloud.Signaling.Hub;

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

    /// <summary>The Web PubSub group of a session's two connections; relayed signaling reaches only its members.</summary>
    public static string SessionGroup(string sessionId) => "session." + sessionId;

    /// <summary>
    /// Relays a signaling message to the peer of a session: to the peer's user, filtered to the one connection that is
    /// still in the session's group. A route kept in a sender's connection state thus goes nowhere once the session has
    /// ended (its group is emptied), without a storage read per message. False if Web PubSub refused or failed.
    /// </summary>
    public async Task<bool> ToSessionPeerAsync(string peerId, string peerConnectionId, string sessionId, ServerMessage message, CancellationToken cancellationToken = default)
    {
        try
        {
            var filter = $"connectionId eq {Literal(peerConnectionId)} and {Literal(SessionGroup(sessionId))} in groups";
            await service.SendToUserAsync(peerId, BinaryData.FromBytes(ProtocolJson.Serialize(message)), WebPubSubContentType.Json, filter, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (WebPubSubRequestException ex)
        {
            logger.LogWarning("Could not relay {Event} to {PeerId} in session {SessionId}: {Error}", message.Event, peerId, sessionId, ex.Message);
            return false;
        }
    }

    /// <summary>Puts connections into a session's group (both members at the start; one member's new connection on a resume).</summary>
    public Task JoinSessionAsync(string sessionId, IEnumerable<string> connectionIds, CancellationToken cancellationToken = default) =>
        service.AddConnectionsToGroupsAsync([SessionGroup(sessionId)], string.Join(" or ", connectionIds.Distinct().Select(id => $"connectionId eq {Literal(id)}")), cancellationToken);

    /// <summary>Empties an ended session's group, so routes cached in connection states lead nowhere. Logged, never fatal.</summary>
    public async Task LeaveSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        var group = SessionGroup(sessionId);
        try
        {
            await service.RemoveConnectionsFromGroupsAsync([group], $"{Literal(group)} in groups", cancellationToken).ConfigureAwait(false);
        }
        catch (WebPubSubRequestException ex)
        {
            logger.LogWarning("Could not empty the group of ended session {SessionId}: {Error}", sessionId, ex.Message);
        }
    }

    /// <summary>An OData string literal (a quote is doubled).</summary>
    private static string Literal(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

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

    /// <summary>The Web PubSub group an enrolled device's connections join (negotiate puts them there), so revoking it closes exactly them.</summary>
    public static string DeviceGroup(string deviceId) => "device." + deviceId;

    /// <summary>Closes every connection of an enrolled device.</summary>
    public Task CloseDeviceAsync(string deviceId, string reason, CancellationToken cancellationToken = default) =>
        service.CloseGroupConnectionsAsync(DeviceGroup(deviceId), reason: reason, cancellationToken: cancellationToken);

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
