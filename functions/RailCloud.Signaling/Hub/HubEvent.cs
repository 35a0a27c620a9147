using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using RailCloud.Protocol;
using RailCloud.WebPubSub;

namespace RailCloud.Signaling.Hub;

/// <summary>
/// One user event from a client, after the checks every event passes (<see cref="EventRouter"/>): a registered
/// connection (or a register event), a name of the contract, data that is a well-formed JSON object. Identity comes
/// only from Web PubSub (<c>ce-userId</c> and the connection state our own answers set), never from the data.
/// </summary>
public sealed class HubEvent(string connectionId, string name, ClientState state, BinaryData data, DateTimeOffset now, ILogger logger)
{
    public string ConnectionId { get; } = connectionId;
    public string Name { get; } = name;
    public ClientState State { get; } = state;
    public DateTimeOffset Now { get; } = now;

    /// <summary>The data as its event's request record of the contract; null when it does not have that shape.</summary>
    public T? Read<T>() where T : class => EventData.Read<T>(data);

    /// <summary>A reply to the sender (its connection state kept).</summary>
    public IResult Reply(ServerMessage message) => HubReplies.Reply(message, State);

    /// <summary>An <c>error</c> reply with a stable code; nothing was stored or forwarded.</summary>
    public IResult Refuse(string code, string message) => HubReplies.Refuse(logger, Name, code, message, State);

    /// <summary>Done, nothing to answer (the connection state kept).</summary>
    public IResult Done() => WebPubSubEventResults.NoContent(State.ToStates());
}

/// <summary>Handles some of the contract's user events (a feature's); the router sends each event to the one that names it.</summary>
public interface IHubEventHandler
{
    IReadOnlyCollection<string> Events { get; }

    Task<IResult> HandleAsync(HubEvent hubEvent, CancellationToken cancellationToken);
}

/// <summary>Admits or refuses a new connection (Web PubSub's <c>connect</c> event).</summary>
public interface IConnectHandler
{
    Task<IResult> ConnectAsync(ConnectEventRequest request, CancellationToken cancellationToken);
}

/// <summary>Hears that a connection is gone (Web PubSub's <c>disconnected</c> event).</summary>
public interface IDisconnectedHandler
{
    Task DisconnectedAsync(ClientState state, string connectionId, CancellationToken cancellationToken);
}

/// <summary>The answers to user events, and how a client-chosen name may be shown.</summary>
public static class HubReplies
{
    public static IResult Reply(ServerMessage message, ClientState? state) =>
        WebPubSubEventResults.Reply(BinaryData.FromBytes(ProtocolJson.Serialize(message)), WebPubSubContentType.Json, state?.ToStates());

    public static IResult Refuse(ILogger logger, string requestEvent, string code, string message, ClientState? state)
    {
        logger.LogInformation("Refused {Event} from {UserId}: {Code}", Shown(requestEvent), state?.Id, code);
        SignalingTelemetry.Refused(requestEvent, code);
        return Reply(new ErrorMessage(code, message, Shown(requestEvent)), state);
    }

    /// <summary>A client-chosen name as it may appear in a reply or a log line: at most 64 characters, no control characters.</summary>
    public static string Shown(string text)
    {
        var shown = text.Length > 64 ? text[..64] : text;
        return shown.Any(ch => char.IsControl(ch) || char.IsSurrogate(ch)) ? string.Concat(shown.Select(ch => char.IsControl(ch) || char.IsSurrogate(ch) ? '?' : ch)) : shown;
    }
}
