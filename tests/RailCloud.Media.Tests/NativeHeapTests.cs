namespace RailCloud.Media.Tests;

/// <summary>The C heap controls the kiosk agent uses between sessions, against this machine's glibc.</summary>
public sealed class NativeHeapTests
{
    [Fact]
    public void OnGlibcTheArenasAreCappedAndTheHeapTrimmedUnlessTheEnvironmentChoseAlready()
    {
        var chosen = Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") is not null;

        Assert.Equal(!chosen, NativeHeap.LimitArenas(2));
        Assert.True(NativeHeap.Trim());
        Assert.Throws<ArgumentOutOfRangeException>(() => NativeHeap.LimitArenas(0));
    }
}
