using RailCloud.Testing;
using Xunit.Abstractions;

namespace RailCloud.WebPubSubEmulator.Tests;

/// <summary>
/// The official, unchanged npm packages against the emulator: if they cannot tell it from the service, neither can
/// anything RailCloud builds on them. Each script prints one line per check.
/// </summary>
public sealed class ConformanceTests(ITestOutputHelper output)
{
    private const string Folder = "tests/RailCloud.WebPubSubEmulator.Tests/conformance";

    [Fact]
    public async Task TheServerSdkWorksAgainstTheEmulator()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await RunAsync("server-sdk.mjs", emulator);
    }

    [Fact]
    public async Task TheReliableClientSdkRecoversADroppedSocketWithNothingLostOrDuplicated()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await RunAsync("client-sdk.mjs", emulator);
    }

    [Fact]
    public async Task AnExpressEventHandlerReceivesEveryEventWithValidSignatures()
    {
        var port = FreePort.Next();
        await using var emulator = await EmulatorServer.StartAsync(
            EmulatorServer.HandlerSettings("upstream", $"http://127.0.0.1:{port}/eventhandler", "connect,connected,disconnected", "*"));
        await RunAsync("express-handler.mjs", emulator, new() { ["HANDLER_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }

    private async Task RunAsync(string script, EmulatorServer emulator, Dictionary<string, string>? extra = null)
    {
        var environment = new Dictionary<string, string> { ["WPS_CONNECTION_STRING"] = emulator.ConnectionString };
        foreach (var (key, value) in extra ?? [])
        {
            environment[key] = value;
        }
        var result = await NodeScript.RunAsync(Path.Combine(Folder, script), environment, TimeSpan.FromMinutes(2));
        output.WriteLine(result.Output);
        Assert.True(result.ExitCode == 0, $"{script} failed (exit {result.ExitCode}):\n{result.Output}");
        Assert.Contains("conformance passed", result.Output);
    }
}
