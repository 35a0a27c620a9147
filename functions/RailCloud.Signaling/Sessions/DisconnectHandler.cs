using RailCloud.Protocol;
using RailCloud.Signaling.Hub;
using RailCloud.Signaling.Kiosks;

namespace RailCloud.Signaling.Sessions;

/// <summary>
/// A connection is gone for good (Web PubSub sends <c>disconnected</c> once a reliable client could not recover
/// within its window, or left): its sessions end and the other side is told; a kiosk's presence goes with it. A
/// connection a session or presence no longer names (a resume moved them) ends nothing.
/// </summary>
public sealed class DisconnectHandler(SessionStore sessions, SessionLifecycle lifecycle, Presence presence, TimeProvider time) : IDisconnectedHandler
{
    public async Task DisconnectedAsync(ClientState state, string connectionId, CancellationToken cancellationToken)
    {
        if (state.Role == Roles.Kiosk)
        {
            if (await sessions.GetLiveAsync(state.Id, time.GetUtcNow(), cancellationToken).ConfigureAwait(false) is { } session && session.KioskConnectionId == connectionId)
            {
                await lifecycle.EndAsync(session, EndReasons.KioskDisconnected, tellMonitor: true, tellKiosk: false, cancellationToken).ConfigureAwait(false);
            }
            await presence.TakeOfflineAsync(state.Id, connectionId, "disconnected", cancellationToken).ConfigureAwait(false);
            return;
        }
        foreach (var session in await sessions.ListByMonitorConnectionAsync(connectionId, cancellationToken).ConfigureAwait(false))
        {
            await lifecycle.EndAsync(session, EndReasons.MonitorDisconnected, tellMonitor: false, tellKiosk: true, cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>Who watches which kiosk, for the kiosk list: the live sessions.</summary>
public sealed class KioskWatchers(SessionStore sessions) : IKioskWatchers
{
    public async Task<IReadOnlyDictionary<string, string>> WatchedAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        (await sessions.ListAsync(cancellationToken).ConfigureAwait(false)).Where(s => s.IsLive(now)).ToDictionary(s => s.KioskId, s => s.MonitorId);
}
