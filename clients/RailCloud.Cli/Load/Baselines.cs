using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using HdrHistogram;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using RailCloud.Client;
using RailCloud.Protocol;
using RailCloud.WebPubSub;

namespace RailCloud.Cli.Load;

/// <summary>
/// The same relay, paced the same way, over three paths: a plain WebSocket relay inside this process (the shortest
/// path on this machine), the Web PubSub emulator's own group send (no event handler), and RailCloud's full path
/// (emulator → event handler → checks → REST send → emulator). Each of <c>pairs</c> pairs sends <c>rate</c>
/// messages a second each way; the latency is one client's send to the other's receipt.
/// </summary>
public static class Baselines
{
    public sealed record Result(string Path, LongHistogram Latency, long Messages);

    /// <summary>
    /// Where the clients reach the two baselines when not directly (over a simulated network, say): Web PubSub's
    /// client endpoint, and the port in front of the plain relay's (given the relay's own).
    /// </summary>
    public sealed record Reach(Uri? WebPubSubClientEndpoint = null, Func<int, int>? PlainRelayPort = null);

    public static async Task<IReadOnlyList<Result>> RunAsync(RailCloudApi api, string webPubSub, int pairs, int rate, TimeSpan phase, string password, CancellationToken cancellationToken, Reach? reach = null)
    {
        var results = new List<Result>
        {
            await PlainWebSocketAsync(pairs, rate, phase, reach?.PlainRelayPort, cancellationToken),
            await EmulatorGroupSendAsync(webPubSub, reach?.WebPubSubClientEndpoint, pairs, rate, phase, cancellationToken),
            await RailCloudPathAsync(api, pairs, rate, phase, password, cancellationToken),
        };
        return results;
    }

    /// <summary>Pair i's two sockets meet at /relay/i; each frame goes to the other side unchanged.</summary>
    private static async Task<Result> PlainWebSocketAsync(int pairs, int rate, TimeSpan phase, Func<int, int>? front, CancellationToken cancellationToken)
    {
        await using var relay = await PlainRelay.StartAsync();
        var baseUri = new Uri($"ws://127.0.0.1:{front?.Invoke(relay.Port) ?? relay.Port}/");
        var arrivals = new Arrivals();
        var clients = new List<(RawSocket A, RawSocket B)>();
        for (var i = 0; i < pairs; i++)
        {
            clients.Add((await RawSocket.ConnectAsync(new Uri(baseUri, $"/relay/{i}/a"), null, m => m.GetProperty("n").GetInt64(), arrivals),
                         await RawSocket.ConnectAsync(new Uri(baseUri, $"/relay/{i}/b"), null, m => m.GetProperty("n").GetInt64(), arrivals)));
        }
        while (relay.Connected < pairs * 2)
        {
            await Task.Delay(10, cancellationToken);
        }
        var latency = await PaceAsync(pairs, rate, phase, (i, n, outbound) => (outbound ? clients[i].A : clients[i].B).SendAsync($"{{\"n\":{n}}}"), arrivals, cancellationToken);
        foreach (var (a, b) in clients)
        {
            await a.DisposeAsync();
            await b.DisposeAsync();
        }
        return new Result("plain WebSocket relay in one process", latency.Histogram, latency.Messages);
    }

    /// <summary>Both sides of pair i join group pair-i and publish to it with noEcho: Web PubSub alone, no handler.</summary>
    private static async Task<Result> EmulatorGroupSendAsync(string connectionString, Uri? clientEndpoint, int pairs, int rate, TimeSpan phase, CancellationToken cancellationToken)
    {
        var service = WebPubSubServiceClient.Create(new WebPubSubOptions { ConnectionString = connectionString, Hub = "baseline", ClientEndpoint = clientEndpoint });
        var arrivals = new Arrivals();
        var clients = new List<(RawSocket A, RawSocket B)>();
        for (var i = 0; i < pairs; i++)
        {
            string[] roles = [$"webpubsub.sendToGroup.pair-{i}"];
            string[] groups = [$"pair-{i}"];
            clients.Add((await RawSocket.ConnectAsync(await service.GetClientAccessUriAsync($"a{i}", roles, groups, cancellationToken: cancellationToken), "json.webpubsub.azure.v1", Numbered, arrivals),
                         await RawSocket.ConnectAsync(await service.GetClientAccessUriAsync($"b{i}", roles, groups, cancellationToken: cancellationToken), "json.webpubsub.azure.v1", Numbered, arrivals)));
        }
        var latency = await PaceAsync(pairs, rate, phase,
            (i, n, outbound) => (outbound ? clients[i].A : clients[i].B).SendAsync($"{{\"type\":\"sendToGroup\",\"group\":\"pair-{i}\",\"noEcho\":true,\"dataType\":\"json\",\"data\":{{\"n\":{n}}}}}"),
            arrivals, cancellationToken);
        foreach (var (a, b) in clients)
        {
            await a.DisposeAsync();
            await b.DisposeAsync();
        }
        return new Result("Web PubSub emulator, group send", latency.Histogram, latency.Messages);

        static long? Numbered(JsonElement frame) =>
            frame.TryGetProperty("type", out var type) && type.GetString() == "message" && frame.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object && data.TryGetProperty("n", out var n)
                ? n.GetInt64() : null;
    }

    /// <summary>Kiosk/monitor pairs with a session; candidates relayed both ways through the whole backend.</summary>
    private static async Task<Result> RailCloudPathAsync(RailCloudApi api, int pairs, int rate, TimeSpan phase, string password, CancellationToken cancellationToken)
    {
        var kiosks = new RailCloudConnection[pairs];
        var monitors = new RailCloudConnection[pairs];
        var arrivals = new Arrivals();
        try
        {
            for (var i = 0; i < pairs; i++)
            {
                kiosks[i] = await RailCloudConnection.ConnectAsync(api, LoadCommand.KioskId(i), password, cancellationToken);
                await kiosks[i].RegisterAsync(cancellationToken: cancellationToken);
                monitors[i] = await RailCloudConnection.ConnectAsync(api, LoadCommand.MonitorId(i), password, cancellationToken);
                await monitors[i].RegisterAsync(cancellationToken: cancellationToken);
                await monitors[i].StartMonitoringAsync(LoadCommand.KioskId(i), cancellationToken);
                foreach (var connection in new[] { kiosks[i], monitors[i] })
                {
                    connection.Received += m =>
                    {
                        if ((string?)m["event"] == Events.IceCandidate && (string?)m["candidate"]?["candidate"] is { } line && long.TryParse(line.Split(' ')[0]["candidate:".Length..], out var n))
                        {
                            arrivals.Arrived(n, Stopwatch.GetTimestamp());
                        }
                    };
                }
            }
            var latency = await PaceAsync(pairs, rate, phase,
                (i, n, outbound) => outbound
                    ? monitors[i].SendIceCandidateAsync(LoadCommand.KioskId(i), $"candidate:{n} 1 udp 1 127.0.0.1 9 typ host", cancellationToken: cancellationToken)
                    : kiosks[i].SendIceCandidateAsync(LoadCommand.MonitorId(i), $"candidate:{n} 1 udp 1 127.0.0.1 9 typ host", cancellationToken: cancellationToken),
                arrivals, cancellationToken);
            return new Result("RailCloud: emulator → handler → checks → emulator", latency.Histogram, latency.Messages);
        }
        finally
        {
            for (var i = 0; i < pairs; i++)
            {
                if (monitors[i] is { } monitor)
                {
                    await monitor.DisposeAsync();
                }
                if (kiosks[i] is { } kiosk)
                {
                    await kiosk.DisposeAsync();
                }
            }
        }
    }

    /// <summary>
    /// Each pair sends one message each way every 1/<paramref name="rate"/> s for the phase; a message is numbered,
    /// and its latency runs from just before its send to its arrival at the other side.
    /// </summary>
    private static async Task<(LongHistogram Histogram, long Messages)> PaceAsync(int pairs, int rate, TimeSpan phase, Func<int, long, bool, Task> send, Arrivals arrivals, CancellationToken cancellationToken)
    {
        var histogram = new LongHistogram(TimeStamp.Minutes(1), 3);
        long next = 0, messages = 0;
        var end = Stopwatch.GetTimestamp() + (long)(phase.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, pairs).Select(async i =>
        {
            while (Stopwatch.GetTimestamp() < end && !cancellationToken.IsCancellationRequested)
            {
                var tick = Stopwatch.GetTimestamp() + Stopwatch.Frequency / rate;
                await Task.WhenAll(OneAsync(i, true), OneAsync(i, false));
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), tick);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, cancellationToken);
                }
            }
        }));
        return (histogram, messages);

        async Task OneAsync(int pair, bool outbound)
        {
            var n = Interlocked.Increment(ref next);
            var arrived = arrivals.For(n);
            var start = Stopwatch.GetTimestamp();
            await send(pair, n, outbound);
            var at = await arrived.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            Interlocked.Increment(ref messages);
            lock (histogram)
            {
                histogram.RecordValue(Math.Max(0, at - start));
            }
        }
    }

    /// <summary>When each numbered message arrived (a Stopwatch timestamp), awaited by its sender.</summary>
    private sealed class Arrivals
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<long, TaskCompletionSource<long>> _waiting = new();

        public Task<long> For(long n) => _waiting.GetOrAdd(n, _ => new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

        public void Arrived(long n, long at)
        {
            _waiting.GetOrAdd(n, _ => new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(at);
            _waiting.TryRemove(n, out _);
        }
    }

    /// <summary>A bare WebSocket client that timestamps numbered messages as they arrive.</summary>
    private sealed class RawSocket : IAsyncDisposable
    {
        private readonly ClientWebSocket _socket = new();
        private readonly SemaphoreSlim _send = new(1, 1);
        private Task _receiving = Task.CompletedTask;

        public static async Task<RawSocket> ConnectAsync(Uri uri, string? subprotocol, Func<JsonElement, long?> number, Arrivals arrivals)
        {
            var raw = new RawSocket();
            if (subprotocol is not null)
            {
                raw._socket.Options.AddSubProtocol(subprotocol);
            }
            await raw._socket.ConnectAsync(uri, CancellationToken.None);
            raw._receiving = raw.ReceiveAsync(number, arrivals);
            return raw;
        }

        public async Task SendAsync(string text)
        {
            await _send.WaitAsync();
            try
            {
                await _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);
            }
            finally
            {
                _send.Release();
            }
        }

        private async Task ReceiveAsync(Func<JsonElement, long?> number, Arrivals arrivals)
        {
            var buffer = new byte[16 * 1024];
            try
            {
                while (true)
                {
                    var received = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                    var at = Stopwatch.GetTimestamp();
                    if (received.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }
                    using var document = JsonDocument.Parse(buffer.AsMemory(0, received.Count));
                    if (number(document.RootElement) is { } n)
                    {
                        arrivals.Arrived(n, at);
                    }
                }
            }
            catch (Exception ex) when (ex is WebSocketException or JsonException or OperationCanceledException)
            {
                // Closed.
            }
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
            }
            catch (WebSocketException)
            {
                // Already gone.
            }
            await _receiving.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _socket.Dispose();
        }
    }
}
