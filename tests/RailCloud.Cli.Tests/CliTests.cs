using System.Diagnostics;
using System.Text;

namespace RailCloud.Cli.Tests;

/// <summary>The <c>railcloud</c> command as a person runs it: a separate process against the running local stack.</summary>
public sealed class CliTests : IAsyncLifetime
{
    private RailCloudStack _stack = null!;
    private string _prefix = null!;

    public async Task InitializeAsync()
    {
        _prefix = "c" + Guid.NewGuid().ToString("N")[..16];
        _stack = await RailCloudStack.StartAsync(new Dictionary<string, string?> { ["Storage:TablePrefix"] = _prefix });
    }

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    private string[] Common => ["--storage", _stack.StorageConnectionString, "--table-prefix", _prefix, "--api", _stack.BaseUri.ToString()];

    [Fact]
    public async Task AccountsCanBeAddedListedResetAndRemoved()
    {
        var added = await Railcloud(["accounts", "add", "KIOSK_07", "--role", "kiosk", "--password", "first-password", .. Common]);
        var duplicate = await Railcloud(["accounts", "add", "KIOSK_07", "--role", "kiosk", "--password", "first-password", .. Common]);
        var badRole = await Railcloud(["accounts", "add", "X1", "--role", "driver", "--password", "first-password", .. Common]);
        var listed = await Railcloud(["accounts", "list", .. Common]);
        var login = await _stack.Api.LoginAsync("KIOSK_07", "first-password");

        Assert.Equal(0, added.ExitCode);
        Assert.Contains("Created KIOSK_07 (kiosk)", added.Output);
        Assert.Equal(1, duplicate.ExitCode);
        Assert.Contains("already exists", duplicate.Output);
        Assert.Equal(1, badRole.ExitCode);
        Assert.Contains("not a role", badRole.Output);
        Assert.Contains("KIOSK_07", listed.Output);
        Assert.Equal("kiosk", login.Role);

        var reset = await Railcloud(["accounts", "reset-password", "KIOSK_07", "--password", "second-password", .. Common]);
        var oldPassword = await Assert.ThrowsAsync<RailCloudException>(() => _stack.Api.LoginAsync("KIOSK_07", "first-password"));
        var oldToken = await Assert.ThrowsAsync<RailCloudException>(() => _stack.Api.NegotiateAsync(login.AccessToken));
        await _stack.Api.LoginAsync("KIOSK_07", "second-password");
        var removed = await Railcloud(["accounts", "remove", "KIOSK_07", .. Common]);
        var gone = await Assert.ThrowsAsync<RailCloudException>(() => _stack.Api.LoginAsync("KIOSK_07", "second-password"));

        Assert.Equal(0, reset.ExitCode);
        Assert.Equal(401, oldPassword.HttpStatus);
        Assert.Equal(401, oldToken.HttpStatus);
        Assert.Equal(0, removed.ExitCode);
        Assert.Equal(401, gone.HttpStatus);
    }

    [Fact]
    public async Task TheKioskAndMonitorSimulatorsRunTheWholeFlow()
    {
        await _stack.CreateAccountAsync("KIOSK_01", Roles.Kiosk);
        await _stack.CreateAccountAsync("MONITOR_01", Roles.Monitor);
        using var kiosk = Start(["kiosk", "--id", "KIOSK_01", "--password", RailCloudStack.Password, .. Common]);
        await kiosk.WaitForOutputAsync("is online");
        using var monitor = Start(["monitor", "--id", "MONITOR_01", "--password", RailCloudStack.Password, "--watch", "KIOSK_01", .. Common]);

        await monitor.WaitForOutputAsync("ICE candidate from KIOSK_01");
        await kiosk.WaitForOutputAsync("ICE candidate from MONITOR_01");
        await kiosk.SendLineAsync("on C77 Katherine Johnson");
        await monitor.WaitForOutputAsync("crew C77 signed on (Katherine Johnson)");

        Assert.Contains("Watching KIOSK_01", monitor.Output);
        Assert.Contains("Being viewed by MONITOR_01", kiosk.Output);
        Assert.Contains("Offer from MONITOR_01", kiosk.Output);
        Assert.Contains("Answer from KIOSK_01", monitor.Output);
    }

    [Fact]
    public async Task TheLoadTestReportsSessionsAndRelayLatency()
    {
        var result = await Railcloud(["load", "--pairs", "3", "--candidates", "3", "--rate", "50", .. Common], TimeSpan.FromMinutes(2));

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("6 clients logged in, connected and registered", result.Output);
        Assert.Matches(@"sessions set up .*\| 3 in [0-9.]+ s = [0-9.]+ sessions/s", result.Output);
        Assert.Matches(@"relay latency p50 / p99 / max \| [0-9.]+ ms / [0-9.]+ ms / [0-9.]+ ms", result.Output);
        Assert.Contains("18 in", result.Output); // 3 pairs × 3 candidates × both ways
    }

    [Fact]
    public async Task UnknownCommandsAndMissingOptionsExplainThemselves()
    {
        var unknown = await Railcloud(["teleport"]);
        var missing = await Railcloud(["kiosk", .. Common]);

        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("Unknown command 'teleport'", unknown.Output);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("--id is required", missing.Output);
    }

    private static string CliPath => Path.Combine(AppContext.BaseDirectory, "railcloud.dll");

    private static async Task<(int ExitCode, string Output)> Railcloud(string[] args, TimeSpan? timeout = null)
    {
        using var process = Start(args);
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        await process.Process.WaitForExitAsync(cts.Token);
        process.Process.WaitForExit();
        return (process.Process.ExitCode, process.Output);
    }

    private static CliProcess Start(string[] args) => new(args);

    private sealed class CliProcess : IDisposable
    {
        private readonly StringBuilder _output = new();

        public CliProcess(string[] args)
        {
            var start = new ProcessStartInfo("dotnet", [CliPath, .. args])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
            };
            Process = Process.Start(start)!;
            Process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
            Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
            Process.BeginOutputReadLine();
            Process.BeginErrorReadLine();
        }

        public Process Process { get; }

        public string Output
        {
            get { lock (_output) return _output.ToString(); }
        }

        public async Task SendLineAsync(string line)
        {
            await Process.StandardInput.WriteLineAsync(line);
            await Process.StandardInput.FlushAsync();
        }

        public async Task WaitForOutputAsync(string text)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!Output.Contains(text, StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < deadline && !Process.HasExited, $"'{text}' did not appear. Output so far:\n{Output}");
                await Task.Delay(50);
            }
        }

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit(5000);
            }
            Process.Dispose();
        }
    }
}
