using System.Diagnostics;

namespace RailCloud.Testing;

/// <summary>coturn (Debian's <c>turnserver</c>) on 127.0.0.1 and a free port, configured from infra/coturn like run.sh does.</summary>
public sealed class CoturnServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _config;

    private CoturnServer(Process process, string config, int port, string secret)
    {
        _process = process;
        _config = config;
        Port = port;
        Secret = secret;
    }

    public int Port { get; }

    /// <summary>What coturn printed (allocations, permissions, refusals), for diagnosing a failed test.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Log { get; private init; } = new();
    public string Secret { get; }

    /// <summary>Settings for the API: TURN over UDP and TCP, STUN, and the shared secret.</summary>
    public Dictionary<string, string?> Settings => new()
    {
        ["Turn:Urls:0"] = $"turn:127.0.0.1:{Port}?transport=udp",
        ["Turn:Urls:1"] = $"turn:127.0.0.1:{Port}?transport=tcp",
        ["Turn:Secret"] = Secret,
        ["Stun:Urls:0"] = $"stun:127.0.0.1:{Port}",
    };

    public static async Task<CoturnServer> StartAsync()
    {
        var port = FreePort.Next();
        var secret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var template = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "infra", "coturn", "turnserver.conf.template"));
        var local = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "infra", "coturn", "local.conf"));
        var config = Path.Combine(Path.GetTempPath(), $"railcloud-turn-{port}.conf");
        await File.WriteAllTextAsync(config, template
            .Replace("@LISTEN_IP@", "127.0.0.1").Replace("@PORT@", port.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Replace("@SECRET@", secret).Replace("@REALM@", "railcloud.test") + "\n" + local
            + $"\nmin-port={port + 1}\nmax-port={port + 200}\npidfile={config}.pid\n");
        return await LaunchAsync(config, port, secret);
    }

    /// <summary>
    /// coturn with a configuration written elsewhere (the cloud one, rendered by infra/coturn/setup.sh), listening on
    /// <paramref name="port"/>; the file is deleted when the server is disposed.
    /// </summary>
    public static Task<CoturnServer> StartWithConfigAsync(string config, int port, string secret) => LaunchAsync(config, port, secret);

    private static async Task<CoturnServer> LaunchAsync(string config, int port, string secret)
    {
        const string binary = "/usr/bin/turnserver";
        if (!File.Exists(binary))
        {
            throw new InvalidOperationException("coturn is not installed (apt-get install coturn); the README's test command installs it.");
        }
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var process = Process.Start(new ProcessStartInfo("turnserver", ["-c", config, "--log-file", "stdout"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("turnserver could not be started.");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        for (var i = 0; i < 100; i++)
        {
            using var probe = new System.Net.Sockets.TcpClient();
            try
            {
                await probe.ConnectAsync("127.0.0.1", port);
                return new CoturnServer(process, config, port, secret) { Log = log };
            }
            catch (System.Net.Sockets.SocketException)
            {
                if (process.HasExited) break;
                await Task.Delay(50);
            }
        }
        process.Kill(entireProcessTree: true);
        throw new InvalidOperationException("coturn did not start listening.");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        File.Delete(_config);
    }
}
