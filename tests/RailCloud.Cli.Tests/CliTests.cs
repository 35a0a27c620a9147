using System.Diagnostics;
using System.Text;
using RailCloud.Cli;

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
    public async Task AccountsReachAKeylessTableEndpointAsTheAzureCliSignedInIdentity()
    {
        // A deployed account: HTTPS, shared keys off, reached with the deploying person's Entra token. Azurite plays
        // it; a stand-in `az` on PATH plays the Azure CLI that person signed in with.
        await using var storage = await AzuriteServer.StartAsync(keyless: true);
        var bin = Directory.CreateTempSubdirectory("railcloud-az-");
        try
        {
            var signedIn = new Dictionary<string, string>
            {
                ["PATH"] = $"{bin.FullName}:{Environment.GetEnvironmentVariable("PATH")}",
                ["SSL_CERT_FILE"] = storage.CertificatePemPath!, // trust the stand-in's certificate, as a real one is trusted
            };
            string[] keyless = ["--storage", storage.TableEndpoint.ToString(), "--table-prefix", _prefix];

            await WriteScriptAsync(Path.Combine(bin.FullName, "az"), "#!/bin/sh\necho \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n");
            var notSignedIn = await Railcloud(["accounts", "list", .. keyless], environment: signedIn);

            await WriteScriptAsync(Path.Combine(bin.FullName, "az"), AzCliPrintingAStorageToken());
            var added = await Railcloud(["accounts", "add", "KIOSK_09", "--role", "kiosk", "--password", "kiosk-09-password", .. keyless], environment: signedIn);
            var listed = await Railcloud(["accounts", "list", .. keyless], environment: signedIn);

            Assert.Equal(2, notSignedIn.ExitCode);
            Assert.Contains("run 'az login' or 'azd auth login' first", notSignedIn.Output);
            Assert.True(added.ExitCode == 0, added.Output);
            Assert.Contains("Created KIOSK_09 (kiosk)", added.Output);
            Assert.Contains("KIOSK_09", listed.Output);
        }
        finally
        {
            bin.Delete(recursive: true);
        }
    }

    private static async Task WriteScriptAsync(string path, string text)
    {
        await File.WriteAllTextAsync(path, text);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>What `az account get-access-token --resource https://storage.azure.com` prints for a signed-in person.</summary>
    private static string AzCliPrintingAStorageToken()
    {
        var now = DateTimeOffset.UtcNow;
        static string Part(object value) => Base64Url(System.Text.Json.JsonSerializer.Serialize(value));
        static string Base64Url(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var token = string.Join('.',
            Part(new { alg = "RS256", typ = "JWT" }),
            Part(new { aud = "https://storage.azure.com", iss = $"https://sts.windows.net/{OidcServer.TenantId}/", iat = now.ToUnixTimeSeconds(), nbf = now.ToUnixTimeSeconds(), exp = now.AddHours(1).ToUnixTimeSeconds(), oid = Guid.NewGuid(), tid = OidcServer.TenantId }),
            Base64Url("signature"));
        var expiresOn = now.AddHours(1).ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss.ffffff", System.Globalization.CultureInfo.InvariantCulture);
        return $$"""
            #!/bin/sh
            cat <<'JSON'
            {"accessToken": "{{token}}", "expiresOn": "{{expiresOn}}", "expires_on": {{now.AddHours(1).ToUnixTimeSeconds()}}, "tenant": "{{OidcServer.TenantId}}", "tokenType": "Bearer"}
            JSON
            """;
    }

    [Fact]
    public async Task TheKioskAndMonitorSimulatorsRunTheWholeFlow()
    {
        await _stack.CreateAccountAsync("KIOSK_01", Roles.Kiosk);
        await _stack.CreateAccountAsync("MONITOR_01", Roles.Monitor);
        using var kiosk = Start(["kiosk", "--id", "KIOSK_01", "--password", RailCloudStack.Password, "--placeholder", .. Common]);
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
    public async Task AfterTheEmulatorRestartsTheSimulatorsReconnectAndResumeTheSameSession()
    {
        await _stack.CreateAccountAsync("KIOSK_02", Roles.Kiosk);
        await _stack.CreateAccountAsync("MONITOR_02", Roles.Monitor);
        using var kiosk = Start(["kiosk", "--id", "KIOSK_02", "--password", RailCloudStack.Password, "--placeholder", .. Common]);
        await kiosk.WaitForOutputAsync("is online");
        using var monitor = Start(["monitor", "--id", "MONITOR_02", "--password", RailCloudStack.Password, "--watch", "KIOSK_02", .. Common]);
        await monitor.WaitForOutputAsync("Answer from KIOSK_02");
        var sessionId = System.Text.RegularExpressions.Regex.Match(monitor.Output, @"Watching KIOSK_02 \(session ([0-9a-f]{32})\)").Groups[1].Value;

        await _stack.RestartEmulatorAsync(TimeSpan.FromSeconds(3));
        await kiosk.WaitForOutputAsync($"Resumed session {sessionId} on the new connection.");
        await monitor.WaitForOutputAsync($"Resumed session {sessionId} on the new connection.");
        await kiosk.SendLineAsync("on C78 Dorothy Vaughan");
        await monitor.WaitForOutputAsync("crew C78 signed on (Dorothy Vaughan)");

        Assert.Matches("[0-9a-f]{32}", sessionId);
        Assert.Contains("Connection lost", kiosk.Output);
        Assert.DoesNotContain("No longer viewed", kiosk.Output);
        Assert.DoesNotContain("Session with KIOSK_02 ended", monitor.Output);
        Assert.False(kiosk.Process.HasExited || monitor.Process.HasExited);
    }

    [Fact]
    public async Task AKioskEnrolledOnceSignsInWithItsKeyAfterARestartUntilItIsRevoked()
    {
        await _stack.CreateAccountAsync("KIOSK_07", Roles.Kiosk);
        await _stack.CreateAccountAsync("SUPERVISOR_01", Roles.Supervisor);
        var supervisor = new[] { "--id", "SUPERVISOR_01", "--password", RailCloudStack.Password };
        var folder = Directory.CreateTempSubdirectory("railcloud-device-");
        var keyFile = Path.Combine(folder.FullName, "KIOSK_07.json");
        try
        {
            var enrol = await Railcloud(["devices", "enrol", "KIOSK_07", .. supervisor, .. Common]);
            var code = System.Text.RegularExpressions.Regex.Match(enrol.Output, "railcloud kiosk --enrol ([0-9A-Z]+)").Groups[1].Value;
            using (var first = Start(["kiosk", "--enrol", code, "--name", "depot-box", "--key-file", keyFile, "--placeholder", .. Common]))
            {
                await first.WaitForOutputAsync("is online");
            }
            var mode = OperatingSystem.IsWindows() ? UnixFileMode.UserRead | UnixFileMode.UserWrite : File.GetUnixFileMode(keyFile);
            using (var again = Start(["kiosk", "--id", "KIOSK_07", "--key-file", keyFile, "--placeholder", .. Common]))
            {
                await again.WaitForOutputAsync("is online");
                Assert.Contains("Signing in as device dev-", again.Output);
            }
            var listed = await Railcloud(["devices", "list", .. supervisor, .. Common]);
            var deviceId = System.Text.RegularExpressions.Regex.Match(listed.Output, "dev-[0-9a-f]{32}").Value;
            var revoked = await Railcloud(["devices", "revoke", deviceId, .. supervisor, .. Common]);
            var afterRevoke = await Railcloud(["kiosk", "--id", "KIOSK_07", "--key-file", keyFile, "--placeholder", .. Common]);

            Assert.True(enrol.ExitCode == 0, enrol.Output);
            Assert.Contains("/kiosk?enrol=" + code, enrol.Output);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
            Assert.Contains("depot-box", listed.Output);
            Assert.Equal(0, revoked.ExitCode);
            Assert.Equal(1, afterRevoke.ExitCode);
            Assert.Contains("device-revoked", afterRevoke.Output);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
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
    public async Task TheFleetSimulatorCountsEveryMessageAndPrintsTheBaselinesBesideRailCloud()
    {
        // A kiosk outside the fleet is online and answers nothing (a real one on the same backend, or one still listed
        // in an outage's grace): the fleet's monitors leave it alone, so it costs no message.
        await _stack.CreateAccountAsync("KIOSK_GHOST", Roles.Kiosk);
        await using var ghost = await _stack.ConnectAsync("KIOSK_GHOST");
        // A small fleet with many socket drops and kiosk restarts, for a few seconds; then the three paths.
        var result = await Railcloud(["load", "--kiosks", "4", "--monitors", "4", "--duration", "8s", "--drop-rate", "6", "--restart-rate", "3", "--trickle", "3",
            "--baseline-pairs", "2", "--baseline-duration", "2s", "--webpubsub", _stack.Emulator.ConnectionString, .. Common], TimeSpan.FromMinutes(3));

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Matches(@"\| relayed \(offer, answer, candidates\) \| ([0-9,]+) sent, \1 arrived \|", result.Output);
        Assert.Matches(@"\*\*lost / duplicated\*\* relayed messages \| \*\*0 / 0\*\*", result.Output);
        Assert.Matches(@"crew broadcasts .*lost / duplicated 0 / 0", result.Output);
        Assert.Matches(@"\*\*double sessions\*\* seen by any monitor \| \*\*0\*\*", result.Output);
        Assert.Matches(@"storage transactions per session \(backend's meter\) \| [0-9.]+", result.Output);
        Assert.Matches(@"time to monitoring-started p50 / p99 / max \| [0-9.]+ ms", result.Output);
        Assert.Matches(@"\| plain WebSocket relay in one process \| [0-9,]+ \|", result.Output);
        Assert.Matches(@"\| Web PubSub emulator, group send \| [0-9,]+ \|", result.Output);
        Assert.Matches(@"\| RailCloud: emulator → handler → checks → emulator \| [0-9,]+ \|", result.Output);
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

    [Fact]
    public async Task EveryCommandAgainstNothingEndsWithOneLineAndTheUnreachableExitCode()
    {
        // Nothing listens on these ports: an API, a Table Storage and a Web PubSub that are not there.
        var nowhere = $"http://127.0.0.1:{FreePort.Next()}";
        var storage = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:{FreePort.Next()}/devstoreaccount1;";
        string[] elsewhere = ["--api", nowhere, "--storage", storage, "--id", "MONITOR_01", "--password", "monitor-password"];
        List<string[]> commands =
        [
            ["load", "--kiosks", "2", "--monitors", "2", "--duration", "5s", .. elsewhere],
            ["load", "--pairs", "2", .. elsewhere],
            ["accounts", "list", .. elsewhere],
            ["devices", "list", .. elsewhere],
            ["probe", "--all", .. elsewhere],
        ];
        // The probe starts GStreamer's warm-up while it signs in; leaving under it crashed 5 times in 12 (exit 139).
        for (var i = 0; i < 8; i++)
        {
            commands.Add(["probe", "KIOSK_01", .. elsewhere]);
        }

        foreach (var command in commands)
        {
            var (exitCode, output) = await Railcloud(command, TimeSpan.FromSeconds(60));
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var what = $"railcloud {string.Join(' ', command.Take(2))} (exit {exitCode}):\n{output}";

            Assert.True(exitCode == 6, what);
            Assert.StartsWith("railcloud: cannot reach", lines[^1], StringComparison.Ordinal);
            Assert.Contains("./run.sh", lines[^1], StringComparison.Ordinal);
            Assert.DoesNotContain(lines, l => l.StartsWith("at ", StringComparison.Ordinal) || l.Contains("Unhandled exception", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task AFleetHeldBackByTheSignInLimitGivesUpSayingWhichSettingToRaise()
    {
        // The production allowance of 30 password sign-ins a minute from one address, and a fleet of 40 from this one.
        var prefix = "c" + Guid.NewGuid().ToString("N")[..16];
        await using var stack = await RailCloudStack.StartAsync(new Dictionary<string, string?> { ["Storage:TablePrefix"] = prefix, ["Auth:LoginsPerMinutePerAddress"] = "30" });

        var (exitCode, output) = await Railcloud(["load", "--kiosks", "20", "--monitors", "20", "--duration", "5s", "--online-timeout", "20s", "--baselines", "false",
            "--storage", stack.StorageConnectionString, "--table-prefix", prefix, "--api", stack.BaseUri.ToString()], TimeSpan.FromMinutes(3));
        var last = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];

        Assert.True(exitCode == 1, output);
        Assert.Matches(@"^railcloud: only [0-9]+ of 40 clients got online in [0-9]+ s \(sign-ins failed [0-9,]+ times rate-limited", last);
        Assert.Contains("Auth:LoginsPerMinutePerAddress", last);
    }

    [Fact]
    public async Task WhenTheBaselinesCannotReachWebPubSubTheFleetReportStandsAndTheLastLineSaysWhatToDo()
    {
        var closed = FreePort.Next();
        var (exitCode, output) = await Railcloud(["load", "--kiosks", "2", "--monitors", "2", "--duration", "3s", "--baseline-pairs", "1", "--baseline-duration", "1s",
            "--webpubsub", $"Endpoint=http://127.0.0.1:{closed};AccessKey=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH;Version=1.0;", .. Common], TimeSpan.FromMinutes(3));
        var last = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];

        Assert.True(exitCode == 6, output);
        Assert.Matches(@"\*\*double sessions\*\* seen by any monitor \| \*\*0\*\*", output);
        Assert.StartsWith($"railcloud: cannot reach Web PubSub at http://127.0.0.1:{closed} for the baselines", last, StringComparison.Ordinal);
        Assert.Contains("--baselines false", last);
        Assert.DoesNotContain("AccessKey", output);
    }

    [Fact]
    public void AProbeThatDecodedFramesButNeverLearntTheirSizeSaysSoRatherThanZeroByZero()
    {
        var unsized = new ProbeCommand.Result("KIOSK_01", ProbeCommand.Exit.VideoFlows, "video flows", TimeSpan.FromSeconds(2.01), 16.2, 49, 0, 0, "relay", 60, 0);
        var sized = unsized with { Width = 640, Height = 360 };

        Assert.Contains("(49 frames); size not reported VP8; path relay", ProbeCommand.Describe(unsized));
        Assert.DoesNotContain("0×0", ProbeCommand.Describe(unsized));
        Assert.Contains("(49 frames); 640×360 VP8; path relay", ProbeCommand.Describe(sized));
    }

    private static Task<(int ExitCode, string Output)> Railcloud(string[] args, TimeSpan? timeout = null, IReadOnlyDictionary<string, string>? environment = null) =>
        RailcloudCommand.RunAsync(args, timeout, environment);

    private static RailcloudCommand Start(string[] args) => new(args);
}
