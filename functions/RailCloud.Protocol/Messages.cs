using System.Text.Json;
using System.Text.Json.Serialization;

namespace RailCloud.Protocol;

// ---- HTTP ----

public sealed record LoginRequest(string? Id, string? Password);

public sealed record LoginResponse(string AccessToken, DateTimeOffset ExpiresAt, [property: OneOf(typeof(Roles))] string Role, string Id);

public sealed record IceServer(IReadOnlyList<string> Urls, string? Username = null, string? Credential = null);

public sealed record NegotiateResponse(string Url, DateTimeOffset ExpiresAt, IReadOnlyList<IceServer> IceServers);

// ---- Devices (unattended kiosks) ----

/// <summary>A one-time enrolment code for a kiosk, shown once; <c>Url</c> is the kiosk page with <c>?enrol=</c>.</summary>
public sealed record EnrolmentResponse(string Code, string Url, DateTimeOffset ExpiresAt, string KioskId);

/// <summary>An EC public key as a JWK (RFC 7517): kty "EC", crv "P-256", x and y base64url.</summary>
public sealed record PublicJwk(string? Kty, string? Crv, string? X, string? Y);

public sealed record DeviceRegistrationRequest(string? Code, PublicJwk? PublicKey, string? Name);

public sealed record DeviceRegistrationResponse(string DeviceId, string KioskId);

public sealed record NonceResponse(string Nonce, DateTimeOffset ExpiresAt);

public sealed record DeviceTokenRequest(string? Assertion);

public sealed record DeviceView(string DeviceId, string KioskId, string? Name, DateTimeOffset EnrolledAt, string EnrolledBy, DateTimeOffset? LastSeen, string? UserAgent);

/// <summary><c>GET /api/me</c>: the signed-in caller; <c>DeviceId</c> for an enrolled kiosk device.</summary>
public sealed record CallerView(string Id, [property: OneOf(typeof(Roles))] string Role, string? DeviceId);

// ---- Accounts (supervisors) ----

public sealed record AccountView(string Id, [property: OneOf(typeof(Roles))] string Role, string Source, DateTimeOffset CreatedAt, bool Locked);

public sealed record CreateAccountRequest(string? Id, string? Role, string? Password);

/// <summary><c>Password</c> only when the server made it up (shown once).</summary>
public sealed record AccountCreated(string Id, [property: OneOf(typeof(Roles))] string Role, string? Password);

public sealed record ResetPasswordRequest(string? Password);

public sealed record PasswordReset(string Id, string? Password);

public sealed record CrewOnDuty(string CrewId, string? Name, DateTimeOffset At);

public sealed record KioskView(string KioskId, bool Online, DateTimeOffset? LastSeen, string? MonitoredBy, IReadOnlyList<CrewOnDuty> Crew);

public sealed record AuditEntry(string Kind, DateTimeOffset At, string KioskId, string? CrewId = null, string? Name = null, string? MonitorId = null, string? SessionId = null, string? Reason = null, string? DeviceId = null, string? By = null);

public sealed record AuditPage(IReadOnlyList<AuditEntry> Items, string? ContinuationToken);

// ---- Client → backend (the "data" of a user event) ----

/// <summary><c>register-kiosk</c>/<c>register-monitor</c>: the sessions this peer still holds after a new connection (none on a first start).</summary>
public sealed record RegisterRequest(IReadOnlyList<string>? Resume = null);

/// <summary><c>start-monitoring</c>; it may carry the monitor's offer, which the kiosk then gets right after <c>monitoring-started</c>.</summary>
public sealed record StartMonitoringRequest(string? KioskId, SessionDescription? Offer = null);

public sealed record StopMonitoringRequest(string? KioskId);

public sealed record SessionDescription(string? Type, string? Sdp);

/// <summary>As a browser's RTCIceCandidateInit; <c>sdpMid</c> and <c>sdpMLineIndex</c> are always written, null included.</summary>
public sealed record IceCandidateInit(
    string? Candidate,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? SdpMid = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? SdpMLineIndex = null);

public sealed record OfferRequest(string? TargetId, SessionDescription? Offer);

public sealed record AnswerRequest(string? TargetId, SessionDescription? Answer);

public sealed record IceCandidateRequest(string? TargetId, IceCandidateInit? Candidate);

public sealed record CrewSignOnRequest(string? CrewId, string? Name = null);

public sealed record CrewSignOffRequest(string? CrewId);

/// <summary><c>heartbeat-ping</c> carries nothing.</summary>
public sealed record HeartbeatRequest;

// ---- Backend → client (server messages; every one has "event") ----

public abstract record ServerMessage([property: JsonPropertyOrder(-1)] string Event);

/// <summary>A string that is always one of the constants of <paramref name="constants"/> (ErrorCodes, EndReasons, Roles): the pages type it so.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class OneOfAttribute(Type constants) : Attribute
{
    public Type Constants { get; } = constants;
}

/// <summary>The <c>event</c> a server message carries on the wire (what its constructor gives its base).</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class WireEventAttribute(params string[] names) : Attribute
{
    public IReadOnlyList<string> Names { get; } = names;
}

/// <remarks><c>Resumed</c> and <c>Ended</c> answer a <c>resume</c> list (absent when none was sent): each session id is in one of them.</remarks>
[WireEvent(Events.Registered)]
public sealed record RegisteredKiosk(string Id, int HeartbeatSeconds, IReadOnlyList<CrewOnDuty> Crew, IReadOnlyList<string>? Resumed = null, IReadOnlyList<string>? Ended = null) : ServerMessage(Events.Registered)
{
    public string Role => Roles.Kiosk;
}

[WireEvent(Events.Registered)]
public sealed record RegisteredMonitor(string Id, [property: OneOf(typeof(Roles))] string Role, IReadOnlyList<KioskView> Kiosks, int HeartbeatSeconds, IReadOnlyList<string>? Resumed = null, IReadOnlyList<string>? Ended = null) : ServerMessage(Events.Registered);

[WireEvent(Events.MonitoringStarted)]
public sealed record MonitoringStartedForMonitor(string KioskId, string SessionId, IReadOnlyList<IceServer> IceServers) : ServerMessage(Events.MonitoringStarted);

[WireEvent(Events.MonitoringStarted)]
public sealed record MonitoringStartedForKiosk(string KioskId, string SessionId, string MonitorId, IReadOnlyList<IceServer> IceServers) : ServerMessage(Events.MonitoringStarted);

[WireEvent(Events.MonitoringStopped)]
public sealed record MonitoringStopped(string KioskId, string SessionId) : ServerMessage(Events.MonitoringStopped);

[WireEvent(Events.MonitoringEnded)]
public sealed record MonitoringEnded(string KioskId, string SessionId, [property: OneOf(typeof(EndReasons))] string Reason) : ServerMessage(Events.MonitoringEnded);

[WireEvent(Events.Offer)]
public sealed record OfferMessage(string FromId, string SessionId, SessionDescription Offer) : ServerMessage(Events.Offer);

[WireEvent(Events.Answer)]
public sealed record AnswerMessage(string FromId, string SessionId, SessionDescription Answer) : ServerMessage(Events.Answer);

[WireEvent(Events.IceCandidate)]
public sealed record IceCandidateMessage(string FromId, string SessionId, IceCandidateInit Candidate) : ServerMessage(Events.IceCandidate);

[WireEvent(Events.HeartbeatPong)]
public sealed record HeartbeatPong(DateTimeOffset ServerTime) : ServerMessage(Events.HeartbeatPong);

[WireEvent(Events.KioskOnline)]
public sealed record KioskOnline(string KioskId, DateTimeOffset At) : ServerMessage(Events.KioskOnline);

[WireEvent(Events.KioskOffline)]
public sealed record KioskOffline(string KioskId, DateTimeOffset At, string Reason) : ServerMessage(Events.KioskOffline);

[WireEvent(Events.CrewSignOn, Events.CrewSignOff)]
public sealed record CrewEvent(string Event, string KioskId, string CrewId, string? Name, DateTimeOffset At) : ServerMessage(Event);

[WireEvent(Events.Error)]
public sealed record ErrorMessage([property: OneOf(typeof(ErrorCodes))] string Code, string Message, string? RequestEvent) : ServerMessage(Events.Error);

/// <summary>The JSON options of the whole contract: camelCase, nulls left out, case-insensitive reading.</summary>
public static class ProtocolJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            MaxDepth = 32,
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>Serializes a server message with its runtime type, so every field (and <c>event</c>) is written.</summary>
    public static byte[] Serialize(ServerMessage message) => JsonSerializer.SerializeToUtf8Bytes(message, message.GetType(), Options);
}
