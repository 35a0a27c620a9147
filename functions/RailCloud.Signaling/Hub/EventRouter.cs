using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using RailCloud.Protocol;
using RailCloud.Signaling.Storage;
using RailCloud.WebPubSub;

namespace RailCloud.Signaling.Hub;

/// <summary>
/// Every Web PubSub event, after the event handler's protocol checks: the system events go to the features that
/// handle them, and each user event, once it has passed the checks every event passes, to the feature that names it.
/// Every refusal is an <c>error</c> reply with a stable code, and nothing is forwarded or stored on a refusal.
/// </summary>
public sealed class EventRouter(Tables tables, IEnumerable<IHubEventHandler> handlers, IConnectHandler connect, IEnumerable<IDisconnectedHandler> disconnected,
    TimeProvider time, ILogger<EventRouter> logger)
{
    /// <summary>Largest user-event body: an SDP at the limit plus its JSON envelope.</summary>
    public const int MaxEventBytes = Limits.MaxSdpBytes + 4096;

    private readonly Dictionary<string, IHubEventHandler> _byEvent = Index(handlers);

    /// <summary>Event name → its handler; every event of the contract has exactly one (checked at start).</summary>
    private static Dictionary<string, IHubEventHandler> Index(IEnumerable<IHubEventHandler> handlers)
    {
        var byEvent = handlers.SelectMany(h => h.Events.Select(e => (Event: e, Handler: h))).ToDictionary(p => p.Event, p => p.Handler, StringComparer.Ordinal);
        var missing = Events.FromClients.Where(e => !byEvent.ContainsKey(e)).ToList();
        return missing.Count == 0 && byEvent.Keys.All(Events.FromClients.Contains) ? byEvent
            : throw new InvalidOperationException($"Every client event needs exactly one handler; none for {string.Join(", ", missing)}, or one for an event outside the contract.");
    }

    public async Task<IResult> HandleAsync(WebPubSubEventRequest request, CancellationToken cancellationToken = default)
    {
        using var scope = SignalingTelemetry.StartEvent(request.Context.EventName, request.Context.ConnectionId, request.Context.UserId);
        try
        {
            await tables.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
            var result = request switch
            {
                ConnectEventRequest connecting => await connect.ConnectAsync(connecting, cancellationToken).ConfigureAwait(false),
                DisconnectedEventRequest gone => await DisconnectedAsync(gone, cancellationToken).ConfigureAwait(false),
                UserEventRequest user => await UserEventAsync(user, cancellationToken).ConfigureAwait(false),
                _ => WebPubSubEventResults.NoContent(),
            };
            return result;
        }
        catch (Exception ex) when (BackendFailure.Is(ex, cancellationToken))
        {
            SignalingTelemetry.Unavailable();
            // Storage or Web PubSub failed under us. A user event still gets a clear answer; system events get a 5xx so the service retries.
            logger.LogWarning("Handling {EventName} for connection {ConnectionId} failed: storage or Web PubSub unavailable ({Error})",
                HubReplies.Shown(request.Context.EventName), request.Context.ConnectionId, ex.Message.Split('\n')[0]);
            return request is UserEventRequest
                ? HubReplies.Reply(new ErrorMessage(ErrorCodes.Unavailable, "The service is unavailable right now; try again shortly.", request.Context.EventName), null)
                : WebPubSubEventResults.Error(StatusCodes.Status503ServiceUnavailable, "Storage or Web PubSub is unavailable.");
        }
    }

    private async Task<IResult> DisconnectedAsync(DisconnectedEventRequest request, CancellationToken cancellationToken)
    {
        if (ClientState.From(request.Context) is { } state)
        {
            foreach (var handler in disconnected)
            {
                await handler.DisconnectedAsync(state, request.Context.ConnectionId, cancellationToken).ConfigureAwait(false);
            }
        }
        return WebPubSubEventResults.NoContent();
    }

    private async Task<IResult> UserEventAsync(UserEventRequest request, CancellationToken cancellationToken)
    {
        var name = request.Context.EventName;
        var state = ClientState.From(request.Context);
        if (state is null)
        {
            return HubReplies.Refuse(logger, name, ErrorCodes.Unauthorized, "This connection was not accepted by RailCloud; reconnect with a URL from /api/negotiate.", null);
        }
        SignalingTelemetry.Caller(state.Role);
        if (!_byEvent.TryGetValue(name, out var handler))
        {
            return HubReplies.Refuse(logger, name, ErrorCodes.InvalidPayload, $"Unknown event '{HubReplies.Shown(name)}'.", state);
        }
        var data = request.Data.ToMemory();
        if (data.Length > MaxEventBytes)
        {
            return HubReplies.Refuse(logger, name, ErrorCodes.PayloadTooLarge, $"Events may be at most {MaxEventBytes} bytes.", state);
        }
        if (request.DataType != WebPubSubContentType.Json || !EventData.IsWellFormedObject(data.Span))
        {
            return HubReplies.Refuse(logger, name, ErrorCodes.InvalidPayload, "Event data must be a JSON object (dataType json) of valid Unicode text.", state);
        }
        if (name is not (Events.RegisterKiosk or Events.RegisterMonitor) && !state.Registered)
        {
            return HubReplies.Refuse(logger, name, ErrorCodes.NotRegistered, $"Send {(state.Role == Roles.Kiosk ? Events.RegisterKiosk : Events.RegisterMonitor)} first.", state);
        }
        return await handler.HandleAsync(new HubEvent(request.Context.ConnectionId, name, state, request.Data, time.GetUtcNow(), logger), cancellationToken).ConfigureAwait(false);
    }
}
