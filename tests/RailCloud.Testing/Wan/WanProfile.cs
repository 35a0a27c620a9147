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
