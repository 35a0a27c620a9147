using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using RailCloud.Protocol;
using RailCloud.Signaling.Hub;
using RailCloud.Signaling.Kiosks;

namespace RailCloud.Signaling.Sessions;

/// <summary>
/// <c>heartbeat-ping</c>: a kiosk's keeps its presence; each member's pushes its own deadline in each session it is
/// in forward (never the other member's), and refreshes the route its trickled candidates take.
/// </summary>
public sealed class HeartbeatHandler(Presence presence, SessionStore sessions, IOptions<SessionOptions> options) : IHubEventHandler
{
    public IReadOnlyCollection<string> Events { get; } = [Protocol.Events.HeartbeatPing];

    public async Task<IResult> HandleAsync(HubEvent e, CancellationToken cancellationToken)
    {
        var until = e.Now + options.Value.Ttl;
        if (e.State.Role == Roles.Kiosk)
        {
            await presence.HeardFromAsync(e.State.Id, e.ConnectionId, e.Now, until, cancellationToken).ConfigureAwait(false);
            await ExtendAsync(e, e.State.Id, SessionSide.Kiosk, s => s.KioskConnectionId == e.ConnectionId, s => (s.MonitorId, s.MonitorConnectionId), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            foreach (var kioskId in e.State.Sessions.Select(s => s.KioskId).ToList())
            {
                await ExtendAsync(e, kioskId, SessionSide.Monitor, s => s.MonitorConnectionId == e.ConnectionId, s => (s.KioskId, s.KioskConnectionId), cancellationToken).ConfigureAwait(false);
            }
        }
        return e.Reply(new HeartbeatPong(e.Now));
    }

    /// <summary>
    /// Pushes the sender's own deadline in its session forward; the other member's stays where it was. A session past
    /// its deadline but not yet ended is left alone, and kept in the connection state: the sweep decides whether it
    /// ends or, after an outage of RailCloud itself, gets a grace, and then this member's next heartbeat counts again.
    /// Only a session that is gone, or no longer this connection's, is forgotten.
    /// </summary>
    private async Task ExtendAsync(HubEvent e, string kioskId, SessionSide side, Func<SessionEntity, bool> isMine, Func<SessionEntity, (string PeerId, string PeerConnectionId)> peer, CancellationToken cancellationToken)
    {
        var (session, extended) = await sessions.UpdateAsync(kioskId, s =>
        {
            if (!isMine(s) || !s.IsLive(e.Now))
            {
                return false;
            }
            s.HeardFrom(side, e.Now + options.Value.Ttl);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        if (session is null || !isMine(session))
        {
            e.State.Forget(kioskId);
        }
        else if (extended)
        {
            var (peerId, peerConnectionId) = peer(session);
            e.State.Remember(kioskId, session.SessionId, peerId, peerConnectionId, options.Value.RouteCachedUntil(e.Now, session));
        }
    }
}
