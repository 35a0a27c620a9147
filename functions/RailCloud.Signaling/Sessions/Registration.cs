using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RailCloud.Protocol;
using RailCloud.Signaling.Hub;
using RailCloud.Signaling.Kiosks;

namespace RailCloud.Signaling.Sessions;

/// <summary>
/// <c>register-kiosk</c>: the kiosk is online on this connection and every monitor is told. A kiosk back on a new
/// connection that names the session it still holds (<c>resume</c>) keeps it, only its route moves; one that does not
/// (a reload, another device) replaces its older connection and that connection's session.
/// </summary>
public sealed class KioskRegistration(Presence presence, SessionStore sessions, SessionLifecycle lifecycle, Notifier notify, IOptions<SessionOptions> options, ILogger<KioskRegistration> logger) : IHubEventHandler
{
    public IReadOnlyCollection<string> Events { get; } = [Protocol.Events.RegisterKiosk];

    public async Task<IResult> HandleAsync(HubEvent e, CancellationToken cancellationToken)
    {
        if (e.State.Role != Roles.Kiosk)
        {
            return e.Refuse(ErrorCodes.Forbidden, "Only kiosk accounts can register as a kiosk.");
        }
        if (!Resume.TryRead(e, out var resume))
        {
            return e.Refuse(ErrorCodes.InvalidPayload, Resume.Problem);
        }
        var until = e.Now + options.Value.Ttl;
        var (kiosk, replaced) = await presence.ComeOnlineAsync(e.State.Id, e.ConnectionId, e.Now, until, cancellationToken).ConfigureAwait(false);
        if (kiosk is null)
        {
            return e.Refuse(ErrorCodes.UnknownKiosk, $"Kiosk '{e.State.Id}' has no presence record; recreate its account.");
        }
        List<string> resumed = [];
        if (await sessions.GetLiveAsync(e.State.Id, e.Now, cancellationToken).ConfigureAwait(false) is { } live && live.KioskConnectionId != e.ConnectionId)
        {
            // The kiosk still holds this session's peer connection: the video never stopped, so only the route moves.
            if (resume?.Contains(live.SessionId) == true
                && await sessions.RebindAsync(e.State.Id, live.SessionId, _ => true, e.ConnectionId, null, e.Now, until, cancellationToken).ConfigureAwait(false) is { } rebound)
            {
                resumed.Add(rebound.SessionId);
                await notify.JoinSessionAsync(rebound.SessionId, [e.ConnectionId], cancellationToken).ConfigureAwait(false);
                e.State.Remember(e.State.Id, rebound.SessionId, rebound.MonitorId, rebound.MonitorConnectionId, options.Value.RouteCachedUntil(e.Now, rebound));
                logger.LogInformation("Session {SessionId}: kiosk {KioskId} resumed it on connection {ConnectionId}", rebound.SessionId, e.State.Id, e.ConnectionId);
            }
            else if (resume?.Contains(live.SessionId) != true)
            {
                // A kiosk that connects again without it (a reload, another device) replaces its older connection's session.
                await lifecycle.EndAsync(live, EndReasons.Replaced, tellMonitor: true, tellKiosk: true, cancellationToken).ConfigureAwait(false);
            }
        }
        if (replaced is not null)
        {
            logger.LogInformation("Kiosk {KioskId} connected again; closing its older connection {ConnectionId}", e.State.Id, replaced);
            await notify.CloseAsync(replaced, "Replaced by a newer connection of the same kiosk.", cancellationToken).ConfigureAwait(false);
        }
        e.State.Registered = true;
        logger.LogInformation("Kiosk {KioskId} is online on connection {ConnectionId}", e.State.Id, e.ConnectionId);
        await presence.AnnounceAsync(e.State.Id, e.Now, cancellationToken).ConfigureAwait(false);
        // The kiosk learns who is on duty there, so a reloaded page shows the same crew as the dashboard.
        return e.Reply(new RegisteredKiosk(e.State.Id, options.Value.HeartbeatSeconds, KioskStore.ReadCrew(kiosk),
            resume is null ? null : resumed, resume?.Except(resumed).ToList()));
    }
}

/// <summary>
/// <c>register-monitor</c>: the monitor joins the monitors' group and gets the kiosk list; sessions it names in
/// <c>resume</c> that are still live and its own move to this connection.
/// </summary>
public sealed class MonitorRegistration(SessionStore sessions, Notifier notify, KioskDirectory directory, IOptions<SessionOptions> options, ILogger<MonitorRegistration> logger) : IHubEventHandler
{
    public IReadOnlyCollection<string> Events { get; } = [Protocol.Events.RegisterMonitor];

    public async Task<IResult> HandleAsync(HubEvent e, CancellationToken cancellationToken)
    {
        if (!Roles.CanMonitor(e.State.Role))
        {
            return e.Refuse(ErrorCodes.Forbidden, "Only monitor and supervisor accounts can register as a monitor.");
        }
        if (!Resume.TryRead(e, out var resume))
        {
            return e.Refuse(ErrorCodes.InvalidPayload, Resume.Problem);
        }
        List<string> resumed = [];
        if (resume is { Count: > 0 })
        {
            foreach (var found in (await sessions.ListByMonitorAsync(e.State.Id, cancellationToken).ConfigureAwait(false)).Where(s => resume.Contains(s.SessionId)))
            {
                if (await sessions.RebindAsync(found.KioskId, found.SessionId, s => s.MonitorId == e.State.Id, null, e.ConnectionId, e.Now, e.Now + options.Value.Ttl, cancellationToken).ConfigureAwait(false) is { } rebound)
                {
                    resumed.Add(rebound.SessionId);
                    await notify.JoinSessionAsync(rebound.SessionId, [e.ConnectionId], cancellationToken).ConfigureAwait(false);
                    e.State.Remember(rebound.KioskId, rebound.SessionId, rebound.KioskId, rebound.KioskConnectionId, options.Value.RouteCachedUntil(e.Now, rebound));
                    logger.LogInformation("Session {SessionId}: monitor {MonitorId} resumed it on connection {ConnectionId}", rebound.SessionId, e.State.Id, e.ConnectionId);
                }
            }
        }
        await notify.AddMonitorAsync(e.ConnectionId, cancellationToken).ConfigureAwait(false);
        e.State.Registered = true;
        return e.Reply(new RegisteredMonitor(e.State.Id, e.State.Role, await directory.ListAsync(cancellationToken).ConfigureAwait(false), options.Value.HeartbeatSeconds,
            resume is null ? null : resumed, resume?.Except(resumed).ToList()));
    }
}

/// <summary>The optional <c>resume</c> list of a register event.</summary>
public static class Resume
{
    public static readonly string Problem = $"resume must be a list of at most {Limits.MaxResume} session ids.";

    /// <summary>False when it is there but not a short list of ids; null (true) when it is not there.</summary>
    public static bool TryRead(HubEvent e, out List<string>? resume)
    {
        resume = null;
        if (e.Read<RegisterRequest>() is not { } request)
        {
            return false;
        }
        if (request.Resume is null)
        {
            return true;
        }
        if (request.Resume.Count > Limits.MaxResume || request.Resume.Any(id => !EventData.IsId(id)))
        {
            return false;
        }
        resume = [.. request.Resume.Distinct(StringComparer.Ordinal)];
        return true;
    }
}
