namespace RailCloud.Testing.Wan;

/// <summary>One direction of a network leg: a one-way delay and a jitter drawn uniformly from ±<see cref="Jitter"/>.</summary>
public sealed record Delay(TimeSpan OneWay, TimeSpan Jitter)
{
    public static readonly Delay None = new(TimeSpan.Zero, TimeSpan.Zero);

    public static Delay Ms(double oneWay, double jitter = 0) => new(TimeSpan.FromMilliseconds(oneWay), TimeSpan.FromMilliseconds(jitter));

    /// <summary>The delay for one packet or chunk: the one-way delay plus a uniform draw from ±jitter, never negative.</summary>
    public TimeSpan Next()
    {
        var ms = OneWay.TotalMilliseconds + (Jitter.TotalMilliseconds * ((Random.Shared.NextDouble() * 2) - 1));
        return TimeSpan.FromMilliseconds(Math.Max(0, ms));
    }

    /// <summary>
    /// When a chunk or datagram that arrives now is due at the other end (a <see cref="System.Diagnostics.Stopwatch"/>
    /// timestamp): after its delay, and never before the one sent ahead of it (<paramref name="lastDue"/>).
    /// </summary>
    public long DueAfter(long lastDue) =>
        Math.Max(lastDue, System.Diagnostics.Stopwatch.GetTimestamp() + Ticks(Next()));

    /// <summary><paramref name="span"/> in <see cref="System.Diagnostics.Stopwatch"/> ticks.</summary>
    public static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);

    /// <summary>
    /// Waits until the timestamp <paramref name="due"/>, never ending early: .NET's timers count whole milliseconds
    /// (a 0.9 ms <c>Task.Delay</c> does not wait at all, and a 10 ms one may end after 9.1 ms), so it waits again for
    /// whatever is left. A busy machine makes it late, as it would make a network.
    /// </summary>
    public static async Task WaitUntilAsync(long due, CancellationToken cancellationToken)
    {
        for (var wait = System.Diagnostics.Stopwatch.GetElapsedTime(System.Diagnostics.Stopwatch.GetTimestamp(), due);
             wait > TimeSpan.Zero;
             wait = System.Diagnostics.Stopwatch.GetElapsedTime(System.Diagnostics.Stopwatch.GetTimestamp(), due))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(wait.TotalMilliseconds)), cancellationToken);
        }
    }

    public override string ToString() => Jitter > TimeSpan.Zero ? $"{OneWay.TotalMilliseconds:0} ms ± {Jitter.TotalMilliseconds:0} ms" : $"{OneWay.TotalMilliseconds:0} ms";
}

/// <summary>
/// A simulated wide-area network on one machine: the delay of a client's legs (browser or device ↔ Web PubSub, the
/// API and TURN) and of the hops inside the Azure region (Web PubSub ↔ API, API ↔ Table Storage). Each applies in
/// each direction, so a client's round trip is twice its one-way delay.
/// </summary>
public sealed record WanProfile(string Name, Delay ClientLeg, Delay RegionHop, string Description)
{
    public static readonly WanProfile Lan = new("lan", Delay.Ms(1), Delay.Ms(1), "a LAN: 1 ms each way on every leg");
    public static readonly WanProfile City = new("city", Delay.Ms(10), Delay.Ms(1), "a city network: 10 ms each way on each client leg, 1 ms inside the region");
    public static readonly WanProfile FourG = new("4g", Delay.Ms(35, 10), Delay.Ms(2), "4G: 35 ± 10 ms each way on each client leg, 2 ms inside the region");

    public static IReadOnlyList<WanProfile> All { get; } = [Lan, City, FourG];

    public static WanProfile Parse(string name) =>
        All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown network profile '{name}'; use one of: {string.Join(", ", All.Select(p => p.Name))}.");
}
