using Azure.Core;
using Azure.Core.Pipeline;

namespace RailCloud.Signaling.Storage;

/// <summary>
/// The backend's clock: this host's clock corrected by how far it is from Table Storage's, measured from the
/// <c>Date</c> header of every storage response. Every instance (Functions scale out) then agrees on "now" to
/// about a second whatever its own clock says, so a host running minutes ahead neither ends live sessions early
/// nor writes deadlines that others read as passed. Timers and stopwatches use the host's clock unchanged.
/// </summary>
public sealed class StorageClock(TimeProvider host) : TimeProvider
{
    /// <summary>The Date header counts whole seconds: a smaller difference cannot be told from rounding, so it is not corrected.</summary>
    public static readonly TimeSpan Resolution = TimeSpan.FromSeconds(1);

    private long _estimateTicks;
    private int _samples;
    private long _lastTicks;

    /// <summary>How far storage's clock is ahead of this host's (negative: behind), as estimated so far.</summary>
    public TimeSpan Estimate => TimeSpan.FromTicks(Interlocked.Read(ref _estimateTicks));

    /// <summary>The correction applied: the estimate once it reaches <see cref="Resolution"/>, else none.</summary>
    public TimeSpan Offset => Estimate.Duration() >= Resolution ? Estimate : TimeSpan.Zero;

    /// <summary>
    /// This host's time plus <see cref="Offset"/>. A small step back (the estimate settling) is held until time
    /// catches up, so "now" does not run backwards; a large one (the first correction of a host that is minutes off)
    /// is taken at once.
    /// </summary>
    public override DateTimeOffset GetUtcNow()
    {
        var now = (host.GetUtcNow() + Offset).UtcTicks;
        long last;
        do
        {
            last = Interlocked.Read(ref _lastTicks);
            if (now <= last && last - now <= Resolution.Ticks * 2)
            {
                return new DateTimeOffset(last, TimeSpan.Zero);
            }
        }
        while (Interlocked.CompareExchange(ref _lastTicks, now, last) != last);
        return new DateTimeOffset(now, TimeSpan.Zero);
    }

    public override long GetTimestamp() => host.GetTimestamp();

    public override long TimestampFrequency => host.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => host.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => host.CreateTimer(callback, state, dueTime, period);

    /// <summary>
    /// One response: storage's clock read <paramref name="date"/> (whole seconds, so on average half a second more)
    /// somewhere between <paramref name="sent"/> and <paramref name="received"/> on this host's clock. The estimate
    /// is the mean of the first sixteen samples, then moves a sixteenth of the way to each new one.
    /// </summary>
    public void Observe(DateTimeOffset date, DateTimeOffset sent, DateTimeOffset received)
    {
        var sample = (date + TimeSpan.FromMilliseconds(500) - (sent + (received - sent) / 2)).Ticks;
        var n = Math.Min(Interlocked.Increment(ref _samples), 16);
        long current, next;
        do
        {
            current = Interlocked.Read(ref _estimateTicks);
            next = current + (sample - current) / n;
        }
        while (Interlocked.CompareExchange(ref _estimateTicks, next, current) != current);
    }

    /// <summary>Reads the Date header of each storage response (each retry too) into the clock.</summary>
    public HttpPipelinePolicy Policy() => new DatePolicy(this, host);

    private sealed class DatePolicy(StorageClock clock, TimeProvider host) : HttpPipelinePolicy
    {
        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            var sent = host.GetUtcNow();
            ProcessNext(message, pipeline);
            Observe(message, sent);
        }

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            var sent = host.GetUtcNow();
            await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
            Observe(message, sent);
        }

        private void Observe(HttpMessage message, DateTimeOffset sent)
        {
            if (message.HasResponse && message.Response.Headers.Date is { } date)
            {
                clock.Observe(date, sent, host.GetUtcNow());
            }
        }
    }
}
