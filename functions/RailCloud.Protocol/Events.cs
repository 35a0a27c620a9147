namespace RailCloud.Protocol;

/// <summary>Event names on the wire (DESIGN.md, "Events over Web PubSub").</summary>
public static class Events
{
    // Client → backend
    public const string RegisterKiosk = "register-kiosk";
    public const string RegisterMonitor = "register-monitor";
    public const string StartMonitoring = "start-monitoring";
    public const string StopMonitoring = "stop-monitoring";
    public const string Offer = "offer";
    public const string Answer = "answer";
    public const string IceCandidate = "ice-candidate";
    public const string HeartbeatPing = "heartbeat-ping";
    public const string CrewSignOn = "crew-sign-on";
    public const string CrewSignOff = "crew-sign-off";

    // Backend → client
    public const string Registered = "registered";
    public const string MonitoringStarted = "monitoring-started";
    public const string MonitoringStopped = "monitoring-stopped";
    public const string MonitoringEnded = "monitoring-ended";
    public const string HeartbeatPong = "heartbeat-pong";
    public const string KioskOnline = "kiosk-online";
    public const string KioskOffline = "kiosk-offline";
    public const string Error = "error";

    /// <summary>Every event a client may send; any other name is refused with <c>invalid-payload</c>.</summary>
    public static readonly IReadOnlySet<string> FromClients = new HashSet<string>(StringComparer.Ordinal)
    {
        RegisterKiosk, RegisterMonitor, StartMonitoring, StopMonitoring, Offer, Answer, IceCandidate, HeartbeatPing, CrewSignOn, CrewSignOff,
    };

    /// <summary>The record of the contract each client event's data is (RailCloud.Protocol), by event name.</summary>
    public static readonly IReadOnlyDictionary<string, Type> DataOf = new Dictionary<string, Type>(StringComparer.Ordinal)
    {
        [RegisterKiosk] = typeof(RegisterRequest),
        [RegisterMonitor] = typeof(RegisterRequest),
        [StartMonitoring] = typeof(StartMonitoringRequest),
        [StopMonitoring] = typeof(StopMonitoringRequest),
        [Offer] = typeof(OfferRequest),
        [Answer] = typeof(AnswerRequest),
        [IceCandidate] = typeof(IceCandidateRequest),
        [HeartbeatPing] = typeof(HeartbeatRequest),
        [CrewSignOn] = typeof(CrewSignOnRequest),
        [CrewSignOff] = typeof(CrewSignOffRequest),
    };

    /// <summary>The Web PubSub hub every RailCloud client connects to.</summary>
    public const string Hub = "railcloud";
}

/// <summary>Why a monitoring session ended.</summary>
public static class EndReasons
{
    public const string Stopped = "stopped";
    public const string KioskDisconnected = "kiosk-disconnected";
    public const string MonitorDisconnected = "monitor-disconnected";
    public const string Expired = "expired";
    public const string Replaced = "replaced";
    /// <summary>The same monitor started watching the kiosk again from another connection (another screen, or a page back after an outage that did not resume).</summary>
    public const string TakenOver = "taken-over";
}

/// <summary>Account roles.</summary>
public static class Roles
{
    public const string Kiosk = "kiosk";
    public const string Monitor = "monitor";
    public const string Supervisor = "supervisor";

    public static bool IsKnown(string? role) => role is Kiosk or Monitor or Supervisor;

    /// <summary>Supervisors are monitors who may also manage accounts.</summary>
    public static bool CanMonitor(string? role) => role is Monitor or Supervisor;
}

/// <summary>The stable <c>code</c> of every refusal.</summary>
public static class ErrorCodes
{
    public const string Unauthorized = "unauthorized";
    public const string Forbidden = "forbidden";
    public const string NotRegistered = "not-registered";
    public const string UnknownKiosk = "unknown-kiosk";
    public const string KioskOffline = "kiosk-offline";
    public const string KioskBusy = "kiosk-busy";
    public const string NoSession = "no-session";
    public const string NotSessionMember = "not-session-member";
    public const string InvalidPayload = "invalid-payload";
    public const string PayloadTooLarge = "payload-too-large";
    public const string RateLimited = "rate-limited";
    public const string Unavailable = "unavailable";
    /// <summary>A crew sign-off for a crew id that is not signed on at that kiosk.</summary>
    public const string NotOnDuty = "not-on-duty";
    /// <summary>A crew sign-on at a kiosk that already has <see cref="Limits.MaxCrewOnDuty"/> crew on duty.</summary>
    public const string CrewFull = "crew-full";

    // Devices (HTTP only). An unknown, expired, used or voided enrolment code all get the same code.
    public const string EnrolmentInvalid = "enrolment-invalid";
    /// <summary>A device assertion that is malformed, not ES256, badly signed, for another audience or outside the clock skew.</summary>
    public const string AssertionInvalid = "assertion-invalid";
    /// <summary>A nonce that was never issued, has expired or was used already.</summary>
    public const string NonceInvalid = "nonce-invalid";
    /// <summary>An assertion whose jti this device used before.</summary>
    public const string AssertionReplayed = "assertion-replayed";
    public const string DeviceUnknown = "device-unknown";
    public const string DeviceRevoked = "device-revoked";

    // Accounts (HTTP only).
    public const string AccountExists = "account-exists";
    public const string UnknownAccount = "unknown-account";
}

/// <summary>Limits every party checks the same way.</summary>
public static class Limits
{
    public const int MaxSdpBytes = 64 * 1024;
    public const int MaxCandidateBytes = 1024;
    public const int MaxCrewNameLength = 100;
    /// <summary>Most crew on duty at one kiosk at once (they live in the kiosk's row, whose text fields Table Storage caps at 64 KiB).</summary>
    public const int MaxCrewOnDuty = 100;
    /// <summary>Most session ids one <c>resume</c> list may name (a monitor wall watches at most this many kiosks at once).</summary>
    public const int MaxResume = 64;

    /// <summary>
    /// Ids (accounts, kiosks, crew): letters, digits, <c>_ - .</c>, 1–64 characters, starting with a letter or digit.
    /// It ends with <c>\z</c>, not <c>$</c>: in .NET, <c>$</c> also matches before a final newline ("KIOSK_01\n").
    /// </summary>
    public const string IdPattern = @"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\z";
}
