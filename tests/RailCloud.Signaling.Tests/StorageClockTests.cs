using RailCloud.Signaling.Storage;

namespace RailCloud.Signaling.Tests;

/// <summary>The backend's clock follows storage's, and only where the host's is measurably off.</summary>
public sealed class StorageClockTests
{
    private static readonly DateTimeOffset Storage = new(2026, 12, 6, 10, 0, 0, TimeSpan.Zero);

    /// <summary>A machine clock <paramref name="skew"/> away from storage's, which a test moves by hand.</summary>
    private sealed class MachineClock(TimeSpan skew) : TimeProvider
    {
        public DateTimeOffset True { get; set; } = Storage;

        public override DateTimeOffset GetUtcNow() => True + skew;
    }

    /// <summary>A response whose Date header storage wrote now (whole seconds), 20 ms after it was sent.</summary>
    private static void Respond(StorageClock clock, MachineClock machine)
    {
        var sent = machine.GetUtcNow();
        machine.True += TimeSpan.FromMilliseconds(10);
        var date = new DateTimeOffset(machine.True.UtcTicks - machine.True.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
        machine.True += TimeSpan.FromMilliseconds(10);
        clock.Observe(date, sent, machine.GetUtcNow());
    }

    [Fact]
    public void AHostTwoMinutesAheadReadsStoragesTimeAfterItsFirstAnswer()
    {
        var machine = new MachineClock(TimeSpan.FromMinutes(2));
        var clock = new StorageClock(machine);

        var before = clock.GetUtcNow() - machine.True;
        Respond(clock, machine);
        var after = clock.GetUtcNow();

        Assert.Equal(TimeSpan.FromMinutes(2), before);   // nothing measured yet: its own clock
        Assert.InRange((after - machine.True).TotalSeconds, -1, 1);
    }

    [Fact]
    public void AHostWithinASecondOfStorageIsLeftExactlyAsItIs()
    {
        var machine = new MachineClock(TimeSpan.FromMilliseconds(300));
        var clock = new StorageClock(machine);
        for (var i = 0; i < 50; i++)
        {
            Respond(clock, machine);
            machine.True += TimeSpan.FromMilliseconds(137);
        }

        Assert.Equal(TimeSpan.Zero, clock.Offset);
        Assert.Equal(machine.GetUtcNow(), clock.GetUtcNow());
    }

    [Fact]
    public void TimeNeverRunsBackWhileTheEstimateSettles()
    {
        var machine = new MachineClock(TimeSpan.FromSeconds(-30));
        var clock = new StorageClock(machine);
        var last = DateTimeOffset.MinValue;
        var backwards = 0;
        for (var i = 0; i < 200; i++)
        {
            Respond(clock, machine);
            machine.True += TimeSpan.FromMilliseconds(3);
            var now = clock.GetUtcNow();
            backwards += now < last && i > 0 ? 1 : 0;
            last = now;
        }

        Assert.Equal(0, backwards);
        Assert.InRange((clock.GetUtcNow() - machine.True).TotalSeconds, -1, 1);
    }
}
