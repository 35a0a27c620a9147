using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using RailCloud.Protocol;
using RailCloud.Signaling.Hub;
using RailCloud.Signaling.Kiosks;

namespace RailCloud.Signaling.Sessions;

/// <summary>
/// <c>start-monitoring</c> and <c>stop-monitoring</c>: the checks (a monitor, a kiosk that exists and is online,
/// nobody else watching), exactly one session per kiosk from the store, and a monitor that can always get out of its
/// own session.
/// </summary>
public sealed class MonitoringHandler(KioskStore kiosks, SessionStore sessions, SessionLifecycle lifecycle, IceServerProvider ice, IOptions<SessionOptions> options) : IHubEventHandler
{
    public IReadOnlyCollection<string> Events { get; } = [Protocol.Events.StartMonitoring, Protocol.Events.StopMonitoring];

    public Task<IResult> HandleAsync(HubEvent e, CancellationToken cancellationToken) =>
        e.Name == Protocol.Events.StartMonitoring ? StartAsync(e, cancellationToken) : StopAsync(e, cancellationToken);

    private async Task<IResult> StartAsync(HubEvent e, CancellationToken cancellationToken)
    {
        if (!Roles.CanMonitor(e.State.Role))
        {
            return e.Refuse(ErrorCodes.Forbidden, "Only monitors can start monitoring.");
        }
        var request = e.Read<StartMonitoringRequest>();
        if (request?.KioskId is not { } kioskId || !EventData.IsId(kioskId))
        {
            return e.Refuse(ErrorCodes.InvalidPayload, "start-monitoring needs a valid kioskId.");
        }
        // The offer may come with the start (one round trip and one invocation fewer); checked as a separate one is.
        var offer = request.Offer is null ? null : Signals.Description(Protocol.Events.StartMonitoring, kioskId, request.Offer, "offer");
        if (offer?.Problem is { } problem)
        {
            return e.Refuse(offer.TooLarge ? ErrorCodes.PayloadTooLarge : ErrorCodes.InvalidPayload, problem);
        }
        SignalingTelemetry.About(kioskId);
        var kiosk = await kiosks.GetAsync(kioskId, cancellationToken).ConfigureAwait(false);
        if (kiosk is null)
        {
            return e.Refuse(ErrorCodes.UnknownKiosk, $"There is no kiosk '{kioskId}'.");
        }
        if (!kiosk.IsOnline(e.Now) || kiosk.ConnectionId is null)
        {
            return e.Refuse(ErrorCodes.KioskOffline, $"Kiosk {kioskId} is offline.");
        }
        var ttl = options.Value.Ttl;
        var wanted = new SessionEntity
        {
            PartitionKey = kioskId,
            SessionId = Guid.NewGuid().ToString("N"),
            MonitorId = e.State.Id,
            MonitorConnectionId = e.ConnectionId,
            KioskConnectionId = kiosk.ConnectionId,
            StartedAt = e.Now,
            ExpiresAt = e.Now + ttl,
            KioskExpiresAt = e.Now + ttl,
            MonitorExpiresAt = e.Now + ttl,
            WriteId = Guid.NewGuid().ToString("N"),
        };
        var (outcome, session, takenOver, takenOverReason) = await sessions.StartAsync(wanted, e.Now, cancellationToken).ConfigureAwait(false);
        if (outcome == StartOutcome.Busy)
        {
            return e.Refuse(ErrorCodes.KioskBusy, $"Kiosk {kioskId} is already being watched by {session.MonitorId}.");
        }
        await lifecycle.BeginAsync(session, outcome == StartOutcome.Started, takenOver, takenOverReason,
            new MonitoringStartedForKiosk(kioskId, session.SessionId, e.State.Id, ice.For(kioskId)), offer?.Description, cancellationToken).ConfigureAwait(false);
        SignalingTelemetry.About(kioskId, session.SessionId);
        e.State.Remember(kioskId, session.SessionId, kioskId, session.KioskConnectionId, options.Value.RouteCachedUntil(e.Now, session));
        return e.Reply(new MonitoringStartedForMonitor(kioskId, session.SessionId, ice.For(e.State.Id)));
    }

    private async Task<IResult> StopAsync(HubEvent e, CancellationToken cancellationToken)
    {
        if (!Roles.CanMonitor(e.State.Role))
        {
            return e.Refuse(ErrorCodes.Forbidden, "Only monitors can stop monitoring.");
        }
        if (e.Read<StopMonitoringRequest>()?.KioskId is not { } kioskId || !EventData.IsId(kioskId))
        {
            return e.Refuse(ErrorCodes.InvalidPayload, "stop-monitoring needs a valid kioskId.");
        }
        // Whatever the row's deadline says: a session whose row names this monitor can always be stopped by it (after
        // a storage crash the row may be an older version, past its deadline, that no sweep has ended yet).
        SignalingTelemetry.About(kioskId);
        var (ended, session) = await lifecycle.EndIfAsync(kioskId, s => s.MonitorId == e.State.Id, EndReasons.Stopped, tellMonitor: false, tellKiosk: true, cancellationToken).ConfigureAwait(false);
        SignalingTelemetry.About(null, session?.SessionId);
        e.State.Forget(kioskId);
        if (ended)
        {
            return e.Reply(new MonitoringStopped(kioskId, session!.SessionId));
        }
        return session is null || !session.IsLive(e.Now)
            ? e.Refuse(ErrorCodes.NoSession, $"Nobody is watching kiosk {kioskId}.")
            : e.Refuse(ErrorCodes.NotSessionMember, $"Kiosk {kioskId} is being watched by someone else.");
    }
}
