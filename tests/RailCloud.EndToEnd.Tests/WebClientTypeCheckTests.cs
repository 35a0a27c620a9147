namespace RailCloud.EndToEnd.Tests;

/// <summary>esbuild only strips types, so the pages' TypeScript is checked here with tsc (strict, no unused names).</summary>
public sealed class WebClientTypeCheckTests
{
    [Fact]
    public async Task ThePagesTypeCheck()
    {
        var result = await NodeScript.RunAsync("node_modules/typescript/bin/tsc", new Dictionary<string, string>(), TimeSpan.FromMinutes(3), "-p", "clients/web");
        Assert.True(result.ExitCode == 0, "tsc found errors:\n" + result.Output);
    }
}
