using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RailCloud.Protocol;
using RailCloud.Signaling.Auth;
using RailCloud.Signaling.Storage;
using RailCloud.WebPubSub;

namespace RailCloud.Signaling.Flow;

/// <summary>
/// The signaling rules, one method per event of the contract. Identity comes only from Web PubSub
/// (<c>ce-userId</c>, and the connection state our own answers set), never from a message body. Every refusal is
/// an <c>error</c> reply with a stable code, and nothing is forwarded or stored on a refusal.
/// </summary>
public sealed class SignalingHandler(
    Tables tables, AccountStore accounts, KioskStore kiosks, SessionStore sessions, AuditStore audit, KioskDirectory directory,
    SessionLifecycle lifecycle, Notifier notify, IceServerProvider ice, Devices.DeviceService devices, IOptions<SessionOptions> options, TimeProvider time,
    ILogger<SignalingHandler> logger)
{
    /// <summary>Largest user-event body: an SDP at the limit plus its JSON envelope.</summary>
    public const int MaxEventBytes = Limits.MaxSdpBytes + 4096;

    /// <summary>Event data: shallow, and a key given twice is malformed (which one would count?), not a crash later.</summary>
    private static readonly JsonDocumentOptions EventJson = new() { MaxDepth = 16, AllowDuplicateProperties = false };

    public async Task<IResult> HandleAsync(WebPubSubEventRequest request, CancellationToken cancellationToken = default)
    {
        try
        {
            await tables.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
            return request switch
            {
                ConnectEventRequest connect => await ConnectAsync(connect, cancellationToken).ConfigureAwait(false),
                DisconnectedEventRequest disconnected => await DisconnectedAsync(disconnected, cancellationToken).ConfigureAwait(false),
                UserEventRequest user => await UserEventAsync(user, cancellationToken).ConfigureAwait(false),
                _ => WebPubSubEventResults.NoContent(),
            };
        }
        catch (Exception ex) when (BackendFailure.Is(ex, cancellationToken))
        {
            // Storage or Web PubSub failed under us. A user event still gets a clear answer; system events get a 5xx so the service retries.
            logger.LogWarning("Handling {EventName} for connection {ConnectionId} failed: storage or Web PubSub unavailable ({Error})",
                Shown(request.Context.EventName), request.Context.ConnectionId, ex.Message.Split('\n')[0]);
            return request is UserEventRequest
                ? Reply(new ErrorMessage(ErrorCodes.Unavailable, "The service is unavailable right now; try again shortly.", request.Context.EventName), null)
                : WebPubSubEventResults.Error(StatusCodes.Status503ServiceUnavailable, "Storage or Web PubSub is unavailable.");
        }
    }

    // ---- System events ----

    private async Task<IResult> ConnectAsync(ConnectEventRequest request, CancellationToken cancellationToken)
    {
        var userId = request.Context.UserId;
        if (string.IsNullOrEmpty(userId))
        {
            return WebPubSubEventResults.Error(StatusCodes.Status401Unauthorized, "Connections need a user: get the URL from /api/negotiate.");
        }
        var account = await accounts.GetAsync(userId, cancellationToken).ConfigureAwait(false);
        if (account is null)
        {
            logger.LogWarning("Refused a connection for unknown user {UserId}", userId);
            return WebPubSubEventResults.Error(StatusCodes.Status401Unauthorized, "Unknown account.");
        }
        if (request.Claims.TryGetValue("iat", out var iat) && long.TryParse(iat.FirstOrDefault(), out var issuedAt)
            && DateTimeOffset.FromUnixTimeSeconds(issuedAt) < account.TokensValidFrom)
        {
            logger.LogWarning("Refused a connection for {UserId}: its URL was issued before the account's last logout", userId);
            return WebPubSubEventResults.Error(StatusCodes.Status401Unauthorized, "This connection URL was issued before a logout; negotiate again.");
        }
        // An enrolled device's URL puts it in its device group; a URL issued before the device was revoked must not
        // connect again.
        foreach (var group in request.Claims.GetValueOrDefault("webpubsub.group") ?? [])
        {
            if (group.StartsWith("device.", StringComparison.Ordinal) && !await devices.IsActiveAsync(group["device.".Length..], userId, cancellationToken).ConfigureAwait(false))
            {
                logger.LogWarning("Refused a connection for {UserId}: its device was removed", userId);
                return WebPubSubEventResults.Error(StatusCodes.Status401Unauthorized, "This device was removed; ask a supervisor for a new enrolment code.");
            }
        }
        var state = new ClientState { Role = account.Role, Id = userId };
        return WebPubSubEventResults.Connect(null, state.ToStates());
    }

    private async Task<IResult> DisconnectedAsync(DisconnectedEventRequest request, CancellationToken cancellationToken)
    {
        var state = ClientState.From(request.Context);
        var connectionId = request.Context.ConnectionId;
        if (state is null)
        {
            return WebPubSubEventResults.NoContent();
        }
        if (state.Role == Roles.Kiosk)
        {
            if (await sessions.GetLiveAsync(state.Id, time.GetUtcNow(), cancellationToken).ConfigureAwait(false) is { } session && session.KioskConnectionId == connectionId)
            {
                await lifecycle.EndAsync(session, EndReasons.KioskDisconnected, tellMonitor: true, tellKiosk: false, cancellationToken).ConfigureAwait(false);
            }
            await lifecycle.TakeOfflineAsync(state.Id, connectionId, "disconnected", cancellationToken).ConfigureAwait(false);
        }
        else
        {
            foreach (var session in await sessions.ListByMonitorConnectionAsync(connectionId, cancellationToken).ConfigureAwait(false))
            {
                await lifecycle.EndAsync(session, EndReasons.MonitorDisconnected, tellMonitor: false, tellKiosk: true, cancellationToken).ConfigureAwait(false);
            }
        }
        return WebPubSubEventResults.NoContent();
    }

    // ---- User events ----

    private async Task<IResult> UserEventAsync(UserEventRequest request, CancellationToken cancellationToken)
    {
        var name = request.Context.EventName;
        var state = ClientState.From(request.Context);
        if (state is null)
        {
            return Refuse(name, ErrorCodes.Unauthorized, "This connection was not accepted by RailCloud; reconnect with a URL from /api/negotiate.", null);
        }
        if (!Events.FromClients.Contains(name))
        {
            return Refuse(name, ErrorCodes.InvalidPayload, $"Unknown event '{Shown(name)}'.", state);
        }
        if (request.Data.ToMemory().Length > MaxEventBytes)
        {
            return Refuse(name, ErrorCodes.PayloadTooLarge, $"Events may be at most {MaxEventBytes} bytes.", state);
        }
        if ((request.DataType == WebPubSubContentType.Json ? ReadEventData(request.Data.ToMemory().Span) : null) is not { } body)
        {
            return Refuse(name, ErrorCodes.InvalidPayload, "Event data must be a JSON object (dataType json) of valid Unicode text.", state);
        }
        if (name is not (Events.RegisterKiosk or Events.RegisterMonitor) && !state.Registered)
        {
            return Refuse(name, ErrorCodes.NotRegistered, $"Send {(state.Role == Roles.Kiosk ? Events.RegisterKiosk : Events.RegisterMonitor)} first.", state);
        }
        var context = new EventContext(request.Context.ConnectionId, name, state, body, time.GetUtcNow());
        return name switch
        {
            Events.RegisterKiosk => await RegisterKioskAsync(context, cancellationToken).ConfigureAwait(false),
            Events.RegisterMonitor => await RegisterMonitorAsync(context, cancellationToken).ConfigureAwait(false),
            Events.StartMonitoring => await StartMonitoringAsync(context, cancellationToken).ConfigureAwait(false),
            Events.StopMonitoring => await StopMonitoringAsync(context, cancellationToken).ConfigureAwait(false),
            Events.Offer or Events.Answer or Events.IceCandidate => await RelayAsync(context, cancellationToken).ConfigureAwait(false),
            Events.HeartbeatPing => await HeartbeatAsync(context, cancellationToken).ConfigureAwait(false),
            _ => await CrewAsync(context, cancellationToken).ConfigureAwait(false),
        };
    }

    /// <summary>
    /// The event's data as a JSON object, or null when it is not one: malformed, nested deeper than 16, a key given
    /// twice (which one would count?), or a string with a lone UTF-16 surrogate (valid JSON, but no .NET string can
    /// hold it, so it would throw wherever it is read).
    /// </summary>
    internal static JsonObject? ReadEventData(ReadOnlySpan<byte> utf8)
    {
        try
        {
            // A lone surrogate can only come as a \u escape: most events (candidates, heartbeats) have none and skip the scan.
            if (utf8.IndexOf("\\u"u8) >= 0)
            {
                var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = EventJson.MaxDepth });
                while (reader.Read())
                {
                    if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped)
                    {
                        _ = reader.GetString();
                    }
                }
            }
            return JsonNode.Parse(utf8, documentOptions: EventJson) as JsonObject;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    private sealed record EventContext(string ConnectionId, string Event, ClientState State, JsonObject Body, DateTimeOffset Now);

    private async Task<IResult> RegisterKioskAsync(EventContext c, CancellationToken cancellationToken)
    {
        if (c.State.Role != Roles.Kiosk)
        {
            return Refuse(c, ErrorCodes.Forbidden, "Only kiosk accounts can register as a kiosk.");
        }
        if (!TryReadResume(c.Body, out var resume))
        {
            return Refuse(c, ErrorCodes.InvalidPayload, $"resume must be a list of at most {Limits.MaxResume} session ids.");
        }
        string? previousConnection = null;
        var kiosk = await kiosks.UpdateAsync(c.State.Id, k =>
        {
            previousConnection = k.IsOnline(c.Now) && k.ConnectionId != c.ConnectionId ? k.ConnectionId : null;
            k.Online = true;
            k.ConnectionId = c.ConnectionId;
            k.LastSeen = c.Now;
            k.ExpiresAt = c.Now + options.Value.Ttl;
            return true;
        }, cancellationToken).ConfigureAwait(false);
        if (kiosk is null)
        {
            return Refuse(c, ErrorCodes.UnknownKiosk, $"Kiosk '{c.State.Id}' has no presence record; recreate its account.");
        }
        List<string> resumed = [];
        if (await sessions.GetLiveAsync(c.State.Id, c.Now, cancellationToken).ConfigureAwait(false) is { } live && live.KioskConnectionId != c.ConnectionId)
        {
            // The kiosk still holds this session's peer connection: the video never stopped, so only the route moves.
            if (resume?.Contains(live.SessionId) == true
                && await sessions.RebindAsync(c.State.Id, live.SessionId, _ => true, c.ConnectionId, null, c.Now, c.Now + options.Value.Ttl, cancellationToken).ConfigureAwait(false) is { } rebound)
            {
                resumed.Add(rebound.SessionId);
                await notify.JoinSessionAsync(rebound.SessionId, [c.ConnectionId], cancellationToken).ConfigureAwait(false);
                c.State.Remember(c.State.Id, rebound.SessionId, rebound.MonitorId, rebound.MonitorConnectionId, CacheUntil(c.Now, rebound));
                logger.LogInformation("Session {SessionId}: kiosk {KioskId} resumed it on connection {ConnectionId}", rebound.SessionId, c.State.Id, c.ConnectionId);
            }
            else if (resume?.Contains(live.SessionId) != true)
            {
                // A kiosk that connects again without it (a reload, another device) replaces its older connection's session.
                await lifecycle.EndAsync(live, EndReasons.Replaced, tellMonitor: true, tellKiosk: true, cancellationToken).ConfigureAwait(false);
            }
        }
        if (previousConnection is not null)
        {
            logger.LogInformation("Kiosk {KioskId} connected again; closing its older connection {ConnectionId}", c.State.Id, previousConnection);
            await notify.CloseAsync(previousConnection, "Replaced by a newer connection of the same kiosk.", cancellationToken).ConfigureAwait(false);
        }
        c.State.Registered = true;
        logger.LogInformation("Kiosk {KioskId} is online on connection {ConnectionId}", c.State.Id, c.ConnectionId);
        await notify.ToMonitorsAsync(new KioskOnline(c.State.Id, c.Now), cancellationToken).ConfigureAwait(false);
        // The kiosk learns who is on duty there, so a reloaded page shows the same crew as the dashboard.
        return Reply(new RegisteredKiosk(c.State.Id, HeartbeatSeconds, KioskStore.ReadCrew(kiosk),
            resume is null ? null : resumed, resume?.Except(resumed).ToList()), c.State);
    }

    private async Task<IResult> RegisterMonitorAsync(EventContext c, CancellationToken cancellationToken)
    {
        if (!Roles.CanMonitor(c.State.Role))
        {
            return Refuse(c, ErrorCodes.Forbidden, "Only monitor and supervisor accounts can register as a monitor.");
        }
        if (!TryReadResume(c.Body, out var resume))
        {
            return Refuse(c, ErrorCodes.InvalidPayload, $"resume must be a list of at most {Limits.MaxResume} session ids.");
        }
        List<string> resumed = [];
        if (resume is { Count: > 0 })
        {
            foreach (var found in (await sessions.ListByMonitorAsync(c.State.Id, cancellationToken).ConfigureAwait(false)).Where(s => resume.Contains(s.SessionId)))
            {
                if (await sessions.RebindAsync(found.KioskId, found.SessionId, s => s.MonitorId == c.State.Id, null, c.ConnectionId, c.Now, c.Now + options.Value.Ttl, cancellationToken).ConfigureAwait(false) is { } rebound)
                {
                    resumed.Add(rebound.SessionId);
                    await notify.JoinSessionAsync(rebound.SessionId, [c.ConnectionId], cancellationToken).ConfigureAwait(false);
                    c.State.Remember(rebound.KioskId, rebound.SessionId, rebound.KioskId, rebound.KioskConnectionId, CacheUntil(c.Now, rebound));
                    logger.LogInformation("Session {SessionId}: monitor {MonitorId} resumed it on connection {ConnectionId}", rebound.SessionId, c.State.Id, c.ConnectionId);
                }
            }
        }
        await notify.AddMonitorAsync(c.ConnectionId, cancellationToken).ConfigureAwait(false);
        c.State.Registered = true;
        return Reply(new RegisteredMonitor(c.State.Id, c.State.Role, await directory.ListAsync(cancellationToken).ConfigureAwait(false), HeartbeatSeconds,
            resume is null ? null : resumed, resume?.Except(resumed).ToList()), c.State);
    }

    private int HeartbeatSeconds => (int)Math.Ceiling(options.Value.HeartbeatInterval.TotalSeconds);

    /// <summary>The optional <c>resume</c> list of a register event: false when it is there but not a short list of ids.</summary>
    private static bool TryReadResume(JsonObject body, out List<string>? resume)
    {
        resume = null;
        if (body["resume"] is not { } node)
        {
            return true;
        }
        if (node is not JsonArray items || items.Count > Limits.MaxResume)
        {
            return false;
        }
        resume = [];
        foreach (var item in items)
        {
            if (item is not JsonValue value || value.GetValueKind() != JsonValueKind.String || value.GetValue<string>() is not { } id || !AccountService.IdPattern().IsMatch(id))
            {
                return false;
            }
            resume.Add(id);
        }
        resume = [.. resume.Distinct(StringComparer.Ordinal)];
        return true;
    }

    private async Task<IResult> StartMonitoringAsync(EventContext c, CancellationToken cancellationToken)
    {
        if (!Roles.CanMonitor(c.State.Role))
        {
            return Refuse(c, ErrorCodes.Forbidden, "Only monitors can start monitoring.");
        }
        if (ReadId(c.Body, "kioskId") is not { } kioskId)
        {
            return Refuse(c, ErrorCodes.InvalidPayload, "start-monitoring needs a valid kioskId.");
        }
        var kiosk = await kiosks.GetAsync(kioskId, cancellationToken).ConfigureAwait(false);
        if (kiosk is null)
        {
            return Refuse(c, ErrorCodes.UnknownKiosk, $"There is no kiosk '{kioskId}'.");
        }
        if (!kiosk.IsOnline(c.Now) || kiosk.ConnectionId is null)
        {
            return Refuse(c, ErrorCodes.KioskOffline, $"Kiosk {kioskId} is offline.");
        }
        var wanted = new SessionEntity
        {
            PartitionKey = kioskId,
            SessionId = Guid.NewGuid().ToString("N"),
            MonitorId = c.State.Id,
            MonitorConnectionId = c.ConnectionId,
            KioskConnectionId = kiosk.ConnectionId,
            StartedAt = c.Now,
            ExpiresAt = c.Now + options.Value.Ttl,
            KioskExpiresAt = c.Now + options.Value.Ttl,
            MonitorExpiresAt = c.Now + options.Value.Ttl,
            WriteId = Guid.NewGuid().ToString("N"),
        };
        var (outcome, session, takenOver, takenOverReason) = await sessions.StartAsync(wanted, c.Now, cancellationToken).ConfigureAwait(false);
        if (outcome == StartOutcome.Busy)
        {
            return Refuse(c, ErrorCodes.KioskBusy, $"Kiosk {kioskId} is already being watched by {session.MonitorId}.");
        }
        // Before anyone is told: the relay reaches only connections in the session's group (Notifier.ToSessionPeerAsync).
        await notify.JoinSessionAsync(session.SessionId, [session.KioskConnectionId, session.MonitorConnectionId], cancellationToken).ConfigureAwait(false);
        if (takenOver is not null)
        {
            // The old session ended without anyone being told yet (it expired unswept, or its monitor is back on a new
            // connection): both of its members are owed the news, the kiosk before it hears of the new session.
            await lifecycle.EndedByTakeoverAsync(takenOver, takenOverReason!, c.Now, cancellationToken).ConfigureAwait(false);
        }
        if (outcome == StartOutcome.Started)
        {
            logger.LogInformation("Session {SessionId}: {MonitorId} is watching {KioskId}", session.SessionId, c.State.Id, kioskId);
            await notify.ToConnectionAsync(session.KioskConnectionId, new MonitoringStartedForKiosk(kioskId, session.SessionId, c.State.Id, ice.For(kioskId)), cancellationToken).ConfigureAwait(false);
            await audit.AddAsync(new AuditEntry("session-started", c.Now, kioskId, MonitorId: c.State.Id, SessionId: session.SessionId), cancellationToken).ConfigureAwait(false);
        }
        c.State.Remember(kioskId, session.SessionId, kioskId, session.KioskConnectionId, CacheUntil(c.Now, session));
        return Reply(new MonitoringStartedForMonitor(kioskId, session.SessionId, ice.For(c.State.Id)), c.State);
    }

    private async Task<IResult> StopMonitoringAsync(EventContext c, CancellationToken cancellationToken)
    {
        if (!Roles.CanMonitor(c.State.Role))
        {
            return Refuse(c, ErrorCodes.Forbidden, "Only monitors can stop monitoring.");
        }
        if (ReadId(c.Body, "kioskId") is not { } kioskId)
        {
            return Refuse(c, ErrorCodes.InvalidPayload, "stop-monitoring needs a valid kioskId.");
        }
        // Whatever the row's deadline says: a session whose row names this monitor can always be stopped by it (after
        // a storage crash the row may be an older version, past its deadline, that no sweep has ended yet).
        var (ended, session) = await lifecycle.EndIfAsync(kioskId, s => s.MonitorId == c.State.Id, EndReasons.Stopped, tellMonitor: false, tellKiosk: true, cancellationToken).ConfigureAwait(false);
        c.State.Forget(kioskId);
        if (ended)
        {
            return Reply(new MonitoringStopped(kioskId, session!.SessionId), c.State);
        }
        return session is null || !session.IsLive(c.Now)
            ? Refuse(c, ErrorCodes.NoSession, $"Nobody is watching kiosk {kioskId}.")
            : Refuse(c, ErrorCodes.NotSessionMember, $"Kiosk {kioskId} is being watched by someone else.");
    }

    private async Task<IResult> RelayAsync(EventContext c, CancellationToken cancellationToken)
    {
        var isMonitor = Roles.CanMonitor(c.State.Role);
        if ((c.Event == Events.Offer && !isMonitor) || (c.Event == Events.Answer && isMonitor))
        {
            return Refuse(c, ErrorCodes.Forbidden, c.Event == Events.Offer ? "Only the monitor sends the offer." : "Only the kiosk sends the answer.");
        }
        if (ReadId(c.Body, "targetId") is not { } targetId)
        {
            return Refuse(c, ErrorCodes.InvalidPayload, $"{c.Event} needs a valid targetId.");
        }
        var (payload, problem, tooLarge) = ValidateSignal(c.Event, c.Body);
        if (payload is null)
        {
            return Refuse(c, tooLarge ? ErrorCodes.PayloadTooLarge : ErrorCodes.InvalidPayload, problem!);
        }
        if (await OverAllowanceAsync(c, cancellationToken).ConfigureAwait(false) is { } limited)
        {
            return limited;
        }

        var kioskId = isMonitor ? targetId : c.State.Id;
        var cached = c.State.Sessions.FirstOrDefault(s => s.KioskId == kioskId && s.PeerId == targetId && s.UntilMs > c.Now.ToUnixTimeMilliseconds());
        string sessionId, peerConnectionId;
        if (c.Event == Events.IceCandidate && cached is not null)
        {
            // Steady state: the candidate's route is in the connection state, written by an answer of ours after a storage check.
            (sessionId, peerConnectionId) = (cached.SessionId, cached.PeerConnectionId);
        }
        else
        {
            var session = await sessions.GetLiveAsync(kioskId, c.Now, cancellationToken).ConfigureAwait(false);
            if (session is null)
            {
                c.State.Forget(kioskId);
                return Refuse(c, ErrorCodes.NoSession, isMonitor ? $"You are not watching kiosk {kioskId}; start monitoring first." : "Nobody is watching this kiosk.");
            }
            var member = isMonitor
                ? session.MonitorId == c.State.Id && session.MonitorConnectionId == c.ConnectionId
                : session.KioskConnectionId == c.ConnectionId && session.MonitorId == targetId;
            if (!member)
            {
                logger.LogWarning("Refused {Event} from {SenderId} ({ConnectionId}) to {TargetId}: not a member of session {SessionId}", c.Event, c.State.Id, c.ConnectionId, targetId, session.SessionId);
                c.State.Forget(kioskId);
                return Refuse(c, ErrorCodes.NotSessionMember, $"You are not in a session with {targetId}.");
            }
            sessionId = session.SessionId;
            peerConnectionId = isMonitor ? session.KioskConnectionId : session.MonitorConnectionId;
            c.State.Remember(kioskId, sessionId, targetId, peerConnectionId, CacheUntil(c.Now, session));
        }

        ServerMessage forward = c.Event switch
        {
            Events.Offer => new OfferMessage(c.State.Id, sessionId, payload),
            Events.Answer => new AnswerMessage(c.State.Id, sessionId, payload),
            _ => new IceCandidateMessage(c.State.Id, sessionId, payload),
        };
        await notify.ToSessionPeerAsync(targetId, peerConnectionId, sessionId, forward, cancellationToken).ConfigureAwait(false);
        return WebPubSubEventResults.NoContent(c.State.ToStates());
    }

    private async Task<IResult> HeartbeatAsync(EventContext c, CancellationToken cancellationToken)
    {
        var ttl = options.Value.Ttl;
        if (c.State.Role == Roles.Kiosk)
        {
            var cameBack = false;
            await kiosks.UpdateAsync(c.State.Id, k =>
            {
                if (k.ConnectionId != c.ConnectionId)
                {
                    return false; // replaced by a newer connection: this one no longer speaks for the kiosk
                }
                cameBack = !k.IsOnline(c.Now);
                k.Online = true;
                k.LastSeen = c.Now;
                k.ExpiresAt = c.Now + ttl;
                return true;
            }, cancellationToken).ConfigureAwait(false);
            if (cameBack)
            {
                await notify.ToMonitorsAsync(new KioskOnline(c.State.Id, c.Now), cancellationToken).ConfigureAwait(false);
            }
            await ExtendAsync(c, c.State.Id, SessionSide.Kiosk, s => s.KioskConnectionId == c.ConnectionId, s => (s.MonitorId, s.MonitorConnectionId), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            foreach (var kioskId in c.State.Sessions.Select(s => s.KioskId).ToList())
            {
                await ExtendAsync(c, kioskId, SessionSide.Monitor, s => s.MonitorConnectionId == c.ConnectionId, s => (s.KioskId, s.KioskConnectionId), cancellationToken).ConfigureAwait(false);
            }
        }
        return Reply(new HeartbeatPong(c.Now), c.State);
    }

    /// <summary>
    /// Pushes the sender's own deadline in its session forward; the other member's stays where it was. A session past
    /// its deadline but not yet ended is left alone, and kept in the connection state: the sweep decides whether it
    /// ends or, after an outage of RailCloud itself, gets a grace, and then this member's next heartbeat counts again.
    /// Only a session that is gone, or no longer this connection's, is forgotten.
    /// </summary>
    private async Task ExtendAsync(EventContext c, string kioskId, SessionSide side, Func<SessionEntity, bool> isMine, Func<SessionEntity, (string PeerId, string PeerConnectionId)> peer, CancellationToken cancellationToken)
    {
        var (session, extended) = await sessions.UpdateAsync(kioskId, s =>
        {
            if (!isMine(s) || !s.IsLive(c.Now))
            {
                return false;
            }
            s.HeardFrom(side, c.Now + options.Value.Ttl);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        if (session is null || !isMine(session))
        {
            c.State.Forget(kioskId);
        }
        else if (extended)
        {
            var (peerId, peerConnectionId) = peer(session);
            c.State.Remember(kioskId, session.SessionId, peerId, peerConnectionId, CacheUntil(c.Now, session));
        }
    }

    private async Task<IResult> CrewAsync(EventContext c, CancellationToken cancellationToken)
    {
        if (c.State.Role != Roles.Kiosk)
        {
            return Refuse(c, ErrorCodes.Forbidden, "Crew sign-on and sign-off happen at a kiosk.");
        }
        if (await OverAllowanceAsync(c, cancellationToken).ConfigureAwait(false) is { } limited)
        {
            return limited;   // each crew event is a storage write, an audit row and a broadcast to every monitor
        }
        if (ReadId(c.Body, "crewId") is not { } crewId)
        {
            return Refuse(c, ErrorCodes.InvalidPayload, $"{c.Event} needs a valid crewId.");
        }
        string? name = null;
        if (c.Event == Events.CrewSignOn && c.Body["name"] is { } nameNode)
        {
            if (nameNode.GetValueKind() != JsonValueKind.String || nameNode.GetValue<string>() is not { Length: <= Limits.MaxCrewNameLength } n || n.Any(char.IsControl))
            {
                return Refuse(c, ErrorCodes.InvalidPayload, $"name must be text of at most {Limits.MaxCrewNameLength} characters.");
            }
            name = n.Trim().Length == 0 ? null : n.Trim();
        }
        var onDuty = true;
        var full = false;
        await kiosks.UpdateAsync(c.State.Id, k =>
        {
            var crew = KioskStore.ReadCrew(k);
            onDuty = crew.RemoveAll(m => m.CrewId == crewId) > 0;
            full = c.Event == Events.CrewSignOn && crew.Count >= Limits.MaxCrewOnDuty;
            if ((c.Event == Events.CrewSignOff && !onDuty) || full)
            {
                return false;   // nothing to change, and nothing to tell anyone
            }
            if (c.Event == Events.CrewSignOn)
            {
                crew.Add(new CrewOnDuty(crewId, name, c.Now));
            }
            KioskStore.WriteCrew(k, crew);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        if (c.Event == Events.CrewSignOff && !onDuty)
        {
            return Refuse(c, ErrorCodes.NotOnDuty, $"Crew {crewId} is not signed on at {c.State.Id}.");
        }
        if (full)
        {
            return Refuse(c, ErrorCodes.CrewFull, $"{c.State.Id} already has {Limits.MaxCrewOnDuty} crew on duty; sign someone off first.");
        }
        await audit.AddAsync(new AuditEntry(c.Event, c.Now, c.State.Id, CrewId: crewId, Name: name), cancellationToken).ConfigureAwait(false);
        logger.LogInformation("{Event}: crew {CrewId} at kiosk {KioskId}", c.Event, crewId, c.State.Id);
        await notify.ToMonitorsAsync(new CrewEvent(c.Event, c.State.Id, crewId, name, c.Now), cancellationToken).ConfigureAwait(false);
        return WebPubSubEventResults.NoContent(c.State.ToStates());
    }

    // ---- Validation and replies ----

    /// <summary>
    /// The per-connection allowance for signaling and crew events (a token bucket in the connection state): a refusal
    /// when it is used up. It is per session held: a wall that watches sixteen kiosks on one connection trickles
    /// sixteen times as much. Refused messages count against the bucket too, so a connection that keeps sending while
    /// refused sinks below zero; at <see cref="SessionOptions.CloseAfterBursts"/> bursts under, it is closed: each refusal
    /// still costs a handler run, and closing stops a flood at its source.
    /// </summary>
    private async Task<IResult?> OverAllowanceAsync(EventContext c, CancellationToken cancellationToken)
    {
        var sessionsHeld = Math.Max(1, c.State.Sessions.Count);
        var burst = options.Value.SignalingBurst * sessionsHeld;
        if (c.State.TryTake(burst, options.Value.SignalingPerSecond * sessionsHeld, c.Now))
        {
            return null;
        }
        // Each refusal digs the bucket deeper; one who keeps sending reaches the bottom and is closed (once, on the way down).
        var bottom = -(double)burst * options.Value.CloseAfterBursts;
        if (c.State.Tokens <= bottom && c.State.Tokens + 1 > bottom)
        {
            logger.LogWarning("Closing connection {ConnectionId} of {UserId}: it kept sending while refused, {Bursts} bursts over its allowance", c.ConnectionId, c.State.Id, options.Value.CloseAfterBursts);
            await notify.CloseAsync(c.ConnectionId, "Too many messages: the connection kept sending over its allowance.", cancellationToken).ConfigureAwait(false);
        }
        return Refuse(c, ErrorCodes.RateLimited, $"Too many messages; at most {options.Value.SignalingPerSecond:0.#} per second per session.");
    }

    /// <summary>The SDP or candidate to forward, checked for shape and size; or why not.</summary>
    internal static (JsonNode? Payload, string? Problem, bool TooLarge) ValidateSignal(string eventName, JsonObject body)
    {
        if (eventName == Events.IceCandidate)
        {
            if (body["candidate"] is not JsonObject candidate)
            {
                return (null, "ice-candidate needs a candidate object.", false);
            }
            if (candidate["candidate"] is not JsonValue text || text.GetValueKind() != JsonValueKind.String)
            {
                return (null, "candidate.candidate must be a string.", false);
            }
            var line = text.GetValue<string>();
            if (System.Text.Encoding.UTF8.GetByteCount(line) > Limits.MaxCandidateBytes)
            {
                return (null, $"A candidate may be at most {Limits.MaxCandidateBytes} bytes.", true);
            }
            if (line.Length > 0 && !line.StartsWith("candidate:", StringComparison.Ordinal))
            {
                return (null, "candidate.candidate must be empty (end of candidates) or start with 'candidate:'.", false);
            }
            if (candidate["sdpMid"] is { } mid && mid.GetValueKind() is not (JsonValueKind.String or JsonValueKind.Null))
            {
                return (null, "candidate.sdpMid must be a string.", false);
            }
            if (candidate["sdpMLineIndex"] is { } index && (index.GetValueKind() is not (JsonValueKind.Number or JsonValueKind.Null) || (index.GetValueKind() == JsonValueKind.Number && index.GetValue<double>() is < 0 or > 1024 or not >= 0)))
            {
                return (null, "candidate.sdpMLineIndex must be a small non-negative number.", false);
            }
            return (new JsonObject
            {
                ["candidate"] = line,
                ["sdpMid"] = candidate["sdpMid"]?.DeepClone(),
                ["sdpMLineIndex"] = candidate["sdpMLineIndex"]?.DeepClone(),
            }, null, false);
        }

        var field = eventName == Events.Offer ? "offer" : "answer";
        if (body[field] is not JsonObject description)
        {
            return (null, $"{eventName} needs an {field} object with type and sdp.", false);
        }
        if (description["type"] is not JsonValue type || type.GetValueKind() != JsonValueKind.String || type.GetValue<string>() != field)
        {
            return (null, $"{field}.type must be \"{field}\".", false);
        }
        if (description["sdp"] is not JsonValue sdpNode || sdpNode.GetValueKind() != JsonValueKind.String)
        {
            return (null, $"{field}.sdp must be a string.", false);
        }
        var sdp = sdpNode.GetValue<string>();
        if (System.Text.Encoding.UTF8.GetByteCount(sdp) > Limits.MaxSdpBytes)
        {
            return (null, $"An SDP may be at most {Limits.MaxSdpBytes} bytes.", true);
        }
        if (!sdp.StartsWith("v=0", StringComparison.Ordinal))
        {
            return (null, $"{field}.sdp is not an SDP (it must start with v=0).", false);
        }
        return (new JsonObject { ["type"] = field, ["sdp"] = sdp }, null, false);
    }

    private static string? ReadId(JsonObject body, string field) =>
        body[field] is JsonValue value && value.GetValueKind() == JsonValueKind.String && value.GetValue<string>() is { } id && AccountService.IdPattern().IsMatch(id) ? id : null;

    private DateTimeOffset CacheUntil(DateTimeOffset now, SessionEntity session)
    {
        var until = now + options.Value.HeartbeatInterval;
        return until < session.ExpiresAt ? until : session.ExpiresAt;
    }

    private static IResult Reply(ServerMessage message, ClientState? state) =>
        WebPubSubEventResults.Reply(BinaryData.FromBytes(ProtocolJson.Serialize(message)), WebPubSubContentType.Json, state?.ToStates());

    private IResult Refuse(EventContext c, string code, string message) => Refuse(c.Event, code, message, c.State);

    private IResult Refuse(string requestEvent, string code, string message, ClientState? state)
    {
        logger.LogInformation("Refused {Event} from {UserId}: {Code}", Shown(requestEvent), state?.Id, code);
        return Reply(new ErrorMessage(code, message, Shown(requestEvent)), state);
    }

    /// <summary>A client-chosen name as it may appear in a reply or a log line: at most 64 characters, no control characters.</summary>
    private static string Shown(string text)
    {
        var shown = text.Length > 64 ? text[..64] : text;
        return shown.Any(ch => char.IsControl(ch) || char.IsSurrogate(ch)) ? string.Concat(shown.Select(ch => char.IsControl(ch) || char.IsSurrogate(ch) ? '?' : ch)) : shown;
    }
}
