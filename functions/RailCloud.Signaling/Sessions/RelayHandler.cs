using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RailCloud.Protocol;
using RailCloud.Signaling.Hub;

namespace RailCloud.Signaling.Sessions;

/// <summary>
/// <c>offer</c>, <c>answer</c> and <c>ice-candidate</c>: relayed only between the two members of a live session, to
/// the peer's own connection, with <c>fromId</c> and <c>sessionId</c>. Offer and answer read the session row; the
/// route is then kept in the sender's connection state, so trickled candidates need no storage at all.
/// </summary>
public sealed class RelayHandler(SessionStore sessions, Notifier notify, Allowance allowance, IOptions<SessionOptions> options, ILogger<RelayHandler> logger) : IHubEventHandler
{
    public IReadOnlyCollection<string> Events { get; } = [Protocol.Events.Offer, Protocol.Events.Answer, Protocol.Events.IceCandidate];

    public async Task<IResult> HandleAsync(HubEvent e, CancellationToken cancellationToken)
    {
        var isMonitor = Roles.CanMonitor(e.State.Role);
        if ((e.Name == Protocol.Events.Offer && !isMonitor) || (e.Name == Protocol.Events.Answer && isMonitor))
        {
            return e.Refuse(ErrorCodes.Forbidden, e.Name == Protocol.Events.Offer ? "Only the monitor sends the offer." : "Only the kiosk sends the answer.");
        }
        var signal = Signals.Read(e);
        if (signal.Problem is { } problem)
        {
            return e.Refuse(signal.TooLarge ? ErrorCodes.PayloadTooLarge : ErrorCodes.InvalidPayload, problem);
        }
        if (await allowance.RefusalAsync(e, cancellationToken).ConfigureAwait(false) is { } limited)
        {
            return limited;
        }

        var targetId = signal.TargetId!;
        var kioskId = isMonitor ? targetId : e.State.Id;
        SignalingTelemetry.About(kioskId);
        var cached = e.State.Sessions.FirstOrDefault(s => s.KioskId == kioskId && s.PeerId == targetId && s.UntilMs > e.Now.ToUnixTimeMilliseconds());
        string sessionId, peerConnectionId;
        if (e.Name == Protocol.Events.IceCandidate && cached is not null)
        {
            // Steady state: the candidate's route is in the connection state, written by an answer of ours after a storage check.
            (sessionId, peerConnectionId) = (cached.SessionId, cached.PeerConnectionId);
        }
        else
        {
            var session = await sessions.GetLiveAsync(kioskId, e.Now, cancellationToken).ConfigureAwait(false);
            if (session is null)
            {
                e.State.Forget(kioskId);
                return e.Refuse(ErrorCodes.NoSession, isMonitor ? $"You are not watching kiosk {kioskId}; start monitoring first." : "Nobody is watching this kiosk.");
            }
            var member = isMonitor
                ? session.MonitorId == e.State.Id && session.MonitorConnectionId == e.ConnectionId
                : session.KioskConnectionId == e.ConnectionId && session.MonitorId == targetId;
            if (!member)
            {
                logger.LogWarning("Refused {Event} from {SenderId} ({ConnectionId}) to {TargetId}: not a member of session {SessionId}", e.Name, e.State.Id, e.ConnectionId, targetId, session.SessionId);
                e.State.Forget(kioskId);
                return e.Refuse(ErrorCodes.NotSessionMember, $"You are not in a session with {targetId}.");
            }
            sessionId = session.SessionId;
            peerConnectionId = isMonitor ? session.KioskConnectionId : session.MonitorConnectionId;
            e.State.Remember(kioskId, sessionId, targetId, peerConnectionId, options.Value.RouteCachedUntil(e.Now, session));
        }

        SignalingTelemetry.About(kioskId, sessionId);
        ServerMessage forward = signal switch
        {
            { Description: { } offer } when e.Name == Protocol.Events.Offer => new OfferMessage(e.State.Id, sessionId, offer),
            { Description: { } answer } => new AnswerMessage(e.State.Id, sessionId, answer),
            _ => new IceCandidateMessage(e.State.Id, sessionId, signal.Candidate!),
        };
        await notify.ToSessionPeerAsync(targetId, peerConnectionId, sessionId, forward, cancellationToken).ConfigureAwait(false);
        return e.Done();
    }
}

/// <summary>What a signaling event carries, checked for shape and size: its target, and the SDP or candidate to forward; or why not.</summary>
public sealed record Signal(string? TargetId, SessionDescription? Description, IceCandidateInit? Candidate, string? Problem = null, bool TooLarge = false);

public static class Signals
{
    public static Signal Read(HubEvent e) => e.Name switch
    {
        Events.Offer => e.Read<OfferRequest>() is { } offer ? Description(e.Name, offer.TargetId, offer.Offer, "offer") : Malformed(e.Name, "an offer object with type and sdp"),
        Events.Answer => e.Read<AnswerRequest>() is { } answer ? Description(e.Name, answer.TargetId, answer.Answer, "answer") : Malformed(e.Name, "an answer object with type and sdp"),
        _ => e.Read<IceCandidateRequest>() is { } candidate ? Candidate(candidate.TargetId, candidate.Candidate) : Malformed(e.Name, "a candidate object (candidate, sdpMid, sdpMLineIndex)"),
    };

    private static Signal Malformed(string eventName, string what) =>
        new(null, null, null, $"{eventName} needs a valid targetId and {what} of the right types.");

    public static Signal Description(string eventName, string? targetId, SessionDescription? description, string field)
    {
        if (!EventData.IsId(targetId))
        {
            return new(null, null, null, $"{eventName} needs a valid targetId.");
        }
        if (description is null)
        {
            return new(null, null, null, $"{eventName} needs an {field} object with type and sdp.");
        }
        if (description.Type != field)
        {
            return new(null, null, null, $"{field}.type must be \"{field}\".");
        }
        if (description.Sdp is not { } sdp)
        {
            return new(null, null, null, $"{field}.sdp must be a string.");
        }
        if (System.Text.Encoding.UTF8.GetByteCount(sdp) > Limits.MaxSdpBytes)
        {
            return new(null, null, null, $"An SDP may be at most {Limits.MaxSdpBytes} bytes.", TooLarge: true);
        }
        if (!sdp.StartsWith("v=0", StringComparison.Ordinal))
        {
            return new(null, null, null, $"{field}.sdp is not an SDP (it must start with v=0).");
        }
        return new(targetId, new SessionDescription(field, sdp), null);
    }

    private static Signal Candidate(string? targetId, IceCandidateInit? candidate)
    {
        if (!EventData.IsId(targetId))
        {
            return new(null, null, null, "ice-candidate needs a valid targetId.");
        }
        if (candidate is null)
        {
            return new(null, null, null, "ice-candidate needs a candidate object.");
        }
        if (candidate.Candidate is not { } line)
        {
            return new(null, null, null, "candidate.candidate must be a string.");
        }
        if (System.Text.Encoding.UTF8.GetByteCount(line) > Limits.MaxCandidateBytes)
        {
            return new(null, null, null, $"A candidate may be at most {Limits.MaxCandidateBytes} bytes.", TooLarge: true);
        }
        if (line.Length > 0 && !line.StartsWith("candidate:", StringComparison.Ordinal))
        {
            return new(null, null, null, "candidate.candidate must be empty (end of candidates) or start with 'candidate:'.");
        }
        if (candidate.SdpMLineIndex is < 0 or > 1024)
        {
            return new(null, null, null, "candidate.sdpMLineIndex must be a small non-negative number.");
        }
        return new(targetId, null, new IceCandidateInit(line, candidate.SdpMid, candidate.SdpMLineIndex));
    }
}
