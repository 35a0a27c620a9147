using System.ComponentModel.DataAnnotations;

namespace RailCloud.Signaling;

/// <summary><c>Storage</c>: Table Storage by connection string (Azurite) or by service URI with managed identity.</summary>
public sealed class StorageOptions : IValidatableObject
{
    public const string SectionName = "Storage";

    public string? ConnectionString { get; set; }

    public Uri? TableServiceUri { get; set; }

    /// <summary>Prefix for table names, so several environments (or test runs) can share one account.</summary>
    [RegularExpression("^[A-Za-z][A-Za-z0-9]{0,20}$")]
    public string TablePrefix { get; set; } = "railcloud";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(ConnectionString) && TableServiceUri is null)
        {
            yield return new ValidationResult("Set Storage:ConnectionString (Azurite) or Storage:TableServiceUri (managed identity).");
        }
    }
}

/// <summary><c>Auth</c>: the tokens <c>/api/login</c> issues.</summary>
public sealed class AuthOptions : IValidatableObject
{
    public const string SectionName = "Auth";

    /// <summary>HMAC-SHA256 wants a key of at least 256 bits.</summary>
    public const int MinSigningKeyBytes = 32;

    /// <summary>HMAC key for HS256; at least 32 bytes. Local runs use a dev key; Azure takes it from Key Vault.</summary>
    public string SigningKey { get; set; } = "";

    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromMinutes(60);

    public string Issuer { get; set; } = "railcloud";

    public string Audience { get; set; } = "railcloud-api";

    /// <summary>Failed logins for one account before it is locked for <see cref="LockoutDuration"/>.</summary>
    [Range(1, 100)]
    public int MaxFailedAttempts { get; set; } = 5;

    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Login attempts one client address may make per minute.</summary>
    [Range(1, 10_000)]
    public int LoginsPerMinutePerAddress { get; set; } = 30;

    /// <summary>Negotiates one bearer token may make per minute (a client that reconnects with backoff needs a few).</summary>
    [Range(1, 10_000)]
    public int NegotiatesPerMinutePerToken { get; set; } = 30;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var bytes = System.Text.Encoding.UTF8.GetByteCount(SigningKey ?? "");
        if (bytes < MinSigningKeyBytes && !SecretSettings.IsKeyVaultReference(SigningKey))
        {
            // An environment deployed before azd generated 64-character keys may hold a 15-character one.
            yield return new ValidationResult(
                $"Auth:SigningKey is {(bytes == 0 ? "not set" : $"only {bytes} bytes")}; it needs at least {MinSigningKeyBytes}. "
                + "In Azure it is the Key Vault secret token-signing-key: set a new one with "
                + "`az keyvault secret set --vault-name <vault> --name token-signing-key --value \"$(openssl rand -base64 48)\"` "
                + "and `azd env config set infra.parameters.tokenSigningKey` to the same value, then restart the app (README, Deploy).",
                [nameof(SigningKey)]);
        }
    }
}

/// <summary><c>Sessions</c>: how long presence and sessions live without a heartbeat.</summary>
public sealed class SessionOptions
{
    public const string SectionName = "Sessions";

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan Ttl { get; set; } = TimeSpan.FromSeconds(90);

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the sweeper looks for expired rows. The Functions timer runs once a minute; the Function app sets 00:01:00 here to match.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// After the backend itself was down (no sweep completed for 1.5 × <see cref="SweepInterval"/>: the API or storage
    /// was unreachable), presence and sessions that were live when it was last healthy get this long from the moment it
    /// is healthy again before the sweep may end them: their heartbeats could not get through. Default: the TTL.
    /// </summary>
    public TimeSpan? OutageGrace { get; set; }

    public TimeSpan Grace => OutageGrace ?? Ttl;

    /// <summary>
    /// A gap between sweeps that means the backend itself was down: 1.5 × <see cref="SweepInterval"/>, and never under
    /// one <see cref="HeartbeatInterval"/>. A shorter gap cannot have cost anyone their deadline (a member lapses only
    /// when no heartbeat got through for a whole TTL), while counting a sweep that was merely late under load as an
    /// outage would keep extending sessions whose other member is gone.
    /// </summary>
    public TimeSpan OutageAfter => SweepInterval * 1.5 > HeartbeatInterval ? SweepInterval * 1.5 : HeartbeatInterval;

    /// <summary>Signaling messages (offer, answer, ICE) one connection may send: burst size and refill per second.</summary>
    [Range(1, 10_000)]
    public int SignalingBurst { get; set; } = 40;

    [Range(0.1, 10_000)]
    public double SignalingPerSecond { get; set; } = 20;

    /// <summary>
    /// How far below empty (in bursts) the allowance of a connection that keeps sending while refused may sink before
    /// the connection is closed: each refused message still costs an event-handler run, so a flood is stopped at its source.
    /// </summary>
    [Range(1, 1000)]
    public int CloseAfterBursts { get; set; } = 2;
}

/// <summary><c>Turn</c> and <c>Stun</c>: the ICE servers handed to clients.</summary>
public sealed class TurnOptions
{
    public const string SectionName = "Turn";

    /// <summary>TURN URLs, e.g. <c>turn:127.0.0.1:3478?transport=udp</c>; empty means no relay.</summary>
    public string[] Urls { get; set; } = [];

    /// <summary>coturn's <c>static-auth-secret</c> (TURN REST credentials).</summary>
    public string? Secret { get; set; }

    [Range(typeof(TimeSpan), "00:01:00", "2.00:00:00")]
    public TimeSpan CredentialLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>STUN URLs (<c>Stun:Urls</c>).</summary>
    public string[] StunUrls { get; set; } = [];
}
