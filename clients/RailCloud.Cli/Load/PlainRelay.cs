using System.Collections.Concurrent;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace RailCloud.Cli.Load;

/// <summary>
/// The baselines' relay: one plain WebSocket relay on 127.0.0.1, no checks, no storage. The two sides of a pair
/// meet at <c>/relay/{pair}/{a|b}</c> and each message goes to the other side unchanged; <c>/</c> is an empty page
/// of this origin for in-browser baselines (no page policy limits where it connects).
/// </summary>
public sealed class PlainRelay : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, WebSocket> _sides;

    private PlainRelay(WebApplication app, ConcurrentDictionary<string, WebSocket> sides, int port) => (_app, _sides, Port) = (app, sides, port);

    public int Port { get; }

    /// <summary>The sides connected so far.</summary>
    public int Connected => _sides.Count;

    public static async Task<PlainRelay> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.UseWebSockets();
        app.MapGet("/", () => Results.Content("<!doctype html><title>baseline</title>", "text/html"));
        var sides = new ConcurrentDictionary<string, WebSocket>();
        app.Map("/relay/{pair}/{side}", async (HttpContext context, string pair, string side) =>
        {
            if (!context.WebSockets.IsWebSocketRequest || side is not ("a" or "b"))
            {
                return Results.BadRequest();
            }
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            sides[$"{pair}/{side}"] = socket;
            var buffer = new byte[256 * 1024];
            try
            {
                while (true)
                {
                    var count = 0;
                    WebSocketReceiveResult received;
                    do
                    {
                        received = await socket.ReceiveAsync(new ArraySegment<byte>(buffer, count, buffer.Length - count), CancellationToken.None);
                        count += received.Count;
                    }
                    while (!received.EndOfMessage && received.MessageType != WebSocketMessageType.Close);
                    if (received.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }
                    if (sides.TryGetValue($"{pair}/{(side == "a" ? "b" : "a")}", out var other) && other.State == WebSocketState.Open)
                    {
                        await other.SendAsync(buffer.AsMemory(0, count), WebSocketMessageType.Text, true, CancellationToken.None);
                    }
                }
            }
            catch (WebSocketException)
            {
                // the page went away
            }
            return Results.Empty;
        });
        await app.StartAsync();
        var port = new Uri(app.Urls.First()).Port;
        return new PlainRelay(app, sides, port);
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
