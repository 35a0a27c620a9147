using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.RegularExpressions;
using HdrHistogram;
using RailCloud.WebPubSub;

namespace RailCloud.Benchmarks;

/// <summary>
/// Starts the emulator as a child process on a free loopback port and measures it from the outside:
/// resident memory per idle connection, REST send-to-connection latency (call to frame received) and
/// group fan-out throughput (frames delivered per second).
/// </summary>
public static partial class EmulatorBenchmark
{
    public sealed record Settings(int Connections, int Sends, int FanoutClients, int FanoutMessages)
    {
        public static Settings Parse(string[] args)
        {
            int Get(string name, int fallback)
            {
                var i = Array.IndexOf(args, name);
                return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
            }
            return new Settings(Get("--connections", 2000), Get("--sends", 2000), Get("--fanout-clients", 100), Get("--fanout-messages", 500));
        }
    }

    private const string Json = "json.webpubsub.azure.v1";

    public static async Task<int> RunAsync(Settings settings)
    {
        using var emulator = await StartEmulatorAsync();
        Console.WriteLine($"emulator pid {emulator.Process.Id} at {emulator.Endpoint}");
        var service = WebPubSubServiceClient.Create(new WebPubSubOptions { ConnectionString = emulator.ConnectionString, Hub = "bench" });
        var clientUri = await service.GetClientAccessUriAsync("bench-user", groups: ["fan"]);

        // 1. Memory per held connection.
        await WarmUpAsync(service, clientUri);
        var before = ResidentBytes(emulator.Process);
        var held = new List<ClientWebSocket>(settings.Connections);
        var connectWatch = Stopwatch.StartNew();
        using (var gate = new SemaphoreSlim(32))
        {
            var connects = Enumerable.Range(0, settings.Connections).Select(async _ =>
            {
                await gate.WaitAsync();
                try
                {
                    var socket = new ClientWebSocket();
                    socket.Options.AddSubProtocol(Json);
                    await socket.ConnectAsync(clientUri, CancellationToken.None);
                    await ReceiveOneAsync(socket); // the connected message
                    lock (held) held.Add(socket);
                }
                finally
                {
                    gate.Release();
                }
            });
            await Task.WhenAll(connects);
        }
        connectWatch.Stop();
        await Task.Delay(2000);
        var after = ResidentBytes(emulator.Process);
        var perConnection = (after - before) / (double)settings.Connections;
        var per100Mb = perConnection > 0 ? 100 * 1024 * 1024 / perConnection : double.PositiveInfinity;
        foreach (var socket in held)
        {
            socket.Abort();
            socket.Dispose();
        }
        held.Clear();
        await Task.Delay(1000);

        // 2. REST send-to-connection latency: from the call to the frame arriving on the client's socket.
        using var target = new ClientWebSocket();
        target.Options.AddSubProtocol(Json);
        await target.ConnectAsync(clientUri, CancellationToken.None);
        var connected = await ReceiveOneAsync(target);
        var connectionId = ConnectionIdPattern().Match(connected).Groups[1].Value;
        var latency = new LongHistogram(TimeStamp.Seconds(10), 3);
        var payload = BinaryData.FromString("{\"type\":\"ice-candidate\",\"candidate\":\"candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host\"}");
        for (var i = 0; i < settings.Sends + 200; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await service.SendToConnectionAsync(connectionId, payload, WebPubSubContentType.Json);
            await ReceiveOneAsync(target);
            if (i >= 200) // the first 200 warm up the JIT and connection pool
            {
                latency.RecordValue(Stopwatch.GetTimestamp() - start);
            }
        }

        // 3. Group fan-out: one REST send to a group of N clients, repeated; frames delivered per second.
        var fanClients = new List<ClientWebSocket>();
        for (var i = 0; i < settings.FanoutClients; i++)
        {
            var socket = new ClientWebSocket();
            socket.Options.AddSubProtocol(Json);
            await socket.ConnectAsync(clientUri, CancellationToken.None);
            await ReceiveOneAsync(socket);
            fanClients.Add(socket);
        }
        var expected = (long)settings.FanoutClients * settings.FanoutMessages;
        long received = 0;
        var allReceived = new TaskCompletionSource();
        var readers = fanClients.Select(async socket =>
        {
            for (var i = 0; i < settings.FanoutMessages; i++)
            {
                await ReceiveOneAsync(socket);
                if (Interlocked.Increment(ref received) == expected) allReceived.TrySetResult();
            }
        }).ToList();
        var fanWatch = Stopwatch.StartNew();
        using (var inFlight = new SemaphoreSlim(8))
        {
            var sends = Enumerable.Range(0, settings.FanoutMessages).Select(async i =>
            {
                await inFlight.WaitAsync();
                try
                {
                    await service.SendToGroupAsync("fan", BinaryData.FromString($"{{\"n\":{i}}}"), WebPubSubContentType.Json);
                }
                finally
                {
                    inFlight.Release();
                }
            });
            await Task.WhenAll(sends);
        }
        await allReceived.Task.WaitAsync(TimeSpan.FromMinutes(2));
        fanWatch.Stop();
        await Task.WhenAll(readers);
        foreach (var socket in fanClients)
        {
            socket.Abort();
            socket.Dispose();
        }

        static double Ms(LongHistogram h, double percentile) => h.GetValueAtPercentile(percentile) * 1000.0 / Stopwatch.Frequency;
        var report = $"""

            ## Web PubSub emulator (loopback, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd})

            | measure | result |
            |---|---|
            | idle connections held | {settings.Connections:N0} (opened in {connectWatch.Elapsed.TotalSeconds:F1} s) |
            | resident memory per connection | {perConnection / 1024:F1} KiB ({before / 1048576.0:F0} MiB → {after / 1048576.0:F0} MiB) |
            | connections per 100 MB | {per100Mb:N0} |
            | REST send-to-connection → frame received, p50 | {Ms(latency, 50):F2} ms |
            | REST send-to-connection → frame received, p99 | {Ms(latency, 99):F2} ms |
            | REST send-to-connection → frame received, max | {Ms(latency, 100):F2} ms ({latency.TotalCount:N0} sends) |
            | group fan-out ({settings.FanoutClients} clients × {settings.FanoutMessages} sends) | {expected / fanWatch.Elapsed.TotalSeconds:N0} messages/s delivered |
            """;
        Console.WriteLine(report);
        return 0;
    }

    private static async Task WarmUpAsync(WebPubSubServiceClient service, Uri clientUri)
    {
        for (var i = 0; i < 50; i++)
        {
            using var socket = new ClientWebSocket();
            socket.Options.AddSubProtocol(Json);
            await socket.ConnectAsync(clientUri, CancellationToken.None);
            await ReceiveOneAsync(socket);
            socket.Abort();
        }
        await service.SendToAllAsync(BinaryData.FromString("warm"), WebPubSubContentType.Text);
        await Task.Delay(1000);
    }

    private static async Task<string> ReceiveOneAsync(ClientWebSocket socket)
    {
        var buffer = new byte[8192];
        var total = 0;
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(total), CancellationToken.None);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new InvalidOperationException("The emulator closed a benchmark connection.");
            }
            total += result.Count;
            if (result.EndOfMessage)
            {
                return System.Text.Encoding.UTF8.GetString(buffer, 0, total);
            }
            if (total == buffer.Length)
            {
                Array.Resize(ref buffer, buffer.Length * 2);
            }
        }
    }

    private static long ResidentBytes(Process process)
    {
        foreach (var line in File.ReadLines($"/proc/{process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }
        throw new InvalidOperationException("VmRSS not found (the memory figure needs Linux /proc).");
    }

    private sealed class RunningEmulator(Process process, string connectionString, Task drainStdout) : IDisposable
    {
        public Process Process { get; } = process;
        public string ConnectionString { get; } = connectionString;
        public string Endpoint => ConnectionString.Split(';')[0]["Endpoint=".Length..];

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit(5000);
            }
            drainStdout.Wait(TimeSpan.FromSeconds(5));
            Process.Dispose();
        }
    }

    private static async Task<RunningEmulator> StartEmulatorAsync()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "RailCloud.WebPubSubEmulator.dll");
        var start = new ProcessStartInfo("dotnet", [dll, "--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the emulator");
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine("emulator: " + e.Data); };
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("ConnectionString: ", StringComparison.Ordinal))
            {
                // Keep draining stdout so the child never blocks on a full pipe; it ends when the child does.
                var drain = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
                return new RunningEmulator(process, line["ConnectionString: ".Length..], drain);
            }
        }
        throw new InvalidOperationException("The emulator exited before printing its connection string.");
    }

    [GeneratedRegex("\"connectionId\":\"([^\"]+)\"")]
    private static partial Regex ConnectionIdPattern();
}
