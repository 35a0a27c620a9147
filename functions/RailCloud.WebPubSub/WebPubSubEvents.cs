using System.Text.Json;

namespace RailCloud.WebPubSub;

/// <summary>Who sent an event and over which connection, from the CloudEvents <c>ce-*</c> headers.</summary>
public sealed record WebPubSubConnectionContext(
    string Hub,
    string ConnectionId,
    string? UserId,
    string EventType,
    string EventName,
    string? Subprotocol,
    string? Origin,
    IReadOnlyDictionary<string, JsonElement> States)
{
    public const string SystemPrefix = "azure.webpubsub.sys.";
    public const string UserPrefix = "azure.webpubsub.user.";

    public bool IsUserEvent => EventType.StartsWith(UserPrefix, StringComparison.Ordinal);
}

/// <summary>One validated upstream request from the service.</summary>
public abstract record WebPubSubEventRequest(WebPubSubConnectionContext Context);

/// <summary>The blocking <c>connect</c> event: the client is waiting to be accepted or refused.</summary>
public sealed record ConnectEventRequest(
    WebPubSubConnectionContext Context,
    IReadOnlyDictionary<string, string[]> Claims,
    IReadOnlyDictionary<string, string[]> Query,
    IReadOnlyDictionary<string, string[]> Headers,
    IReadOnlyList<string> Subprotocols,
    IReadOnlyList<ClientCertificateInfo> ClientCertificates) : WebPubSubEventRequest(Context);

public sealed record ClientCertificateInfo(string? Thumbprint, string? Content);

public sealed record ConnectedEventRequest(WebPubSubConnectionContext Context) : WebPubSubEventRequest(Context);

public sealed record DisconnectedEventRequest(WebPubSubConnectionContext Context, string? Reason) : WebPubSubEventRequest(Context);

/// <summary>A user event (blocking): the payload as sent, and its kind.</summary>
public sealed record UserEventRequest(WebPubSubConnectionContext Context, BinaryData Data, WebPubSubContentType DataType) : WebPubSubEventRequest(Context);

/// <summary>The answer to a <c>connect</c> event; null members leave the client's values as they were.</summary>
public sealed record ConnectEventResponse(
    string? UserId = null,
    IReadOnlyList<string>? Groups = null,
    IReadOnlyList<string>? Roles = null,
    string? Subprotocol = null);
