using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RailCloud.Protocol;

namespace RailCloud.Signaling.Hub;

/// <summary>The per-connection signaling and crew allowance (configured in the <c>Sessions</c> section).</summary>
public sealed class AllowanceOptions
{
    public const string SectionName = "Sessions";

    /// <summary>Signaling messages (offer, answer, ICE) and crew events one connection may send: burst size and refill per second.</summary>
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

/// <summary>
/// The per-connection allowance for signaling and crew events (a token bucket in the connection state): a refusal
/// when it is used up. It is per session held: a wall that watches sixteen kiosks on one connection trickles
/// sixteen times as much. Refused messages count against the bucket too, so a connection that keeps sending while
/// refused sinks below zero; at <see cref="AllowanceOptions.CloseAfterBursts"/> bursts under, it is closed: each
/// refusal still costs a handler run, and closing stops a flood at its source.
/// </summary>
public sealed class Allowance(Notifier notify, IOptions<AllowanceOptions> options, ILogger<Allowance> logger)
{
    /// <summary>Null when the event fits the sender's allowance; else the refusal to answer.</summary>
    public async Task<IResult?> RefusalAsync(HubEvent e, CancellationToken cancellationToken)
    {
        var sessionsHeld = Math.Max(1, e.State.Sessions.Count);
        var burst = options.Value.SignalingBurst * sessionsHeld;
        if (e.State.TryTake(burst, options.Value.SignalingPerSecond * sessionsHeld, e.Now))
        {
            return null;
        }
        // Each refusal digs the bucket deeper; one who keeps sending reaches the bottom and is closed (once, on the way down).
        var bottom = -(double)burst * options.Value.CloseAfterBursts;
        if (e.State.Tokens <= bottom && e.State.Tokens + 1 > bottom)
        {
            logger.LogWarning("Closing connection {ConnectionId} of {UserId}: it kept sending while refused, {Bursts} bursts over its allowance", e.ConnectionId, e.State.Id, options.Value.CloseAfterBursts);
            await notify.CloseAsync(e.ConnectionId, "Too many messages: the connection kept sending over its allowance.", cancellationToken).ConfigureAwait(false);
        }
        return e.Refuse(ErrorCodes.RateLimited, $"Too many messages; at most {options.Value.SignalingPerSecond:0.#} per second per session.");
    }
}
