using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using RailCloud.Testing;
using RailCloud.WebPubSub;

namespace RailCloud.Signaling.Tests;

/// <summary>
/// The event-handler side of RailCloud.Signaling against the requests the emulator really sends, and against
/// tampered copies of them.
/// </summary>
public sealed class EventReaderTests : IAsyncLifetime
{
    private const string Json = "json.webpubsub.azure.v1";
    private UpstreamHost _upstream = null!;
    private EmulatorServer _emulator = null!;
    private WebPubSubEventReader _reader = null!;
    private readonly ConcurrentQueue<WebPubSubEventRequest> _accepted = new();
    private readonly ConcurrentQueue<WebPubSubRequestError> _refused = new();
    private readonly HttpClient _http = new();

    public async Task InitializeAsync()
    {
        _upstream = await UpstreamHost.StartAsync();
        _emulator = await EmulatorServer.StartAsync(EmulatorServer.HandlerSettings("railcloud", _upstream.UrlTemplate, "connect,connected,disconnected", "*"));
        // The secondary connection string carries a key the emulator does not use: rotation must not break anything.
        _reader = WebPubSubEventReader.FromOptions(new WebPubSubOptions
        {
            Hub = "railcloud",
            ConnectionString = $"Endpoint={_emulator.BaseUri.GetLeftPart(UriPartial.Authority)};AccessKey={new string('S', 44)};Version=1.0;",
            SecondaryConnectionString = _emulator.ConnectionString,
        });
        _upstream.Handle = HandleAsync;
    }

    public async Task DisposeAsync()
    {
        await _emulator.DisposeAsync();
        await _upstream.DisposeAsync();
        _http.Dispose();
    }

    private async Task<IResult> HandleAsync(HttpContext context, byte[] body)
    {
        if (WebPubSubEventReader.IsValidationRequest(context.Request))
        {
            return _reader.Validate(context.Request);
        }
        var (request, error) = await _reader.ReadAsync(context.Request);
        if (error is not null)
        {
            _refused.Enqueue(error);
            return WebPubSubEventResults.Error(error);
        }
        _accepted.Enqueue(request!);
        var count = request!.Context.States.TryGetValue("count", out var c) ? c.GetInt32() : 0;
        var states = new Dictionary<string, JsonElement> { ["count"] = JsonSerializer.SerializeToElement(count + 1) };
        return request switch
        {
            ConnectEventRequest connect => WebPubSubEventResults.Connect(new ConnectEventResponse(Groups: ["from-handler"]), states),
            UserEventRequest user => WebPubSubEventResults.Reply(BinaryData.FromString($"{{\"seen\":{count},\"echo\":{JsonSerializer.Serialize(user.Data.ToString())}}}"), WebPubSubContentType.Json, states),
            _ => WebPubSubEventResults.NoContent(),
        };
    }

    [Fact]
    public async Task EveryEventTheEmulatorSendsIsReadWithItsContext()
    {
        var token = WebPubSubTokens.CreateClientToken(_emulator.BaseUri, _emulator.AccessKey, "railcloud", "KIOSK_01", null, null, TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow);
        var socket = await TestWebSocket.ConnectAsync(new Uri($"ws://{_emulator.BaseUri.Authority}/client/hubs/railcloud?access_token={token}&site=york"), Json);
        var connected = await socket.ReceiveJsonAsync();
        var connectionId = (string)connected["connectionId"]!;
        await socket.SendJsonAsync(new { type = "event", @event = "heartbeat-ping", dataType = "text", data = "one" });
        var first = await socket.ReceiveJsonAsync(m => (string?)m["type"] == "message");
        await socket.SendJsonAsync(new { type = "event", @event = "heartbeat-ping", dataType = "json", data = new { n = 2 } });
        var second = await socket.ReceiveJsonAsync(m => (string?)m["type"] == "message");
        await socket.CloseAsync();
        await socket.DisposeAsync();
        await WaitUntil(() => _accepted.OfType<DisconnectedEventRequest>().Any());

        var connect = Assert.Single(_accepted.OfType<ConnectEventRequest>());
        Assert.Equal(("railcloud", connectionId, "KIOSK_01", "connect"), (connect.Context.Hub, connect.Context.ConnectionId, connect.Context.UserId, connect.Context.EventName));
        Assert.Equal(["KIOSK_01"], connect.Claims["sub"]);
        Assert.Equal(["york"], connect.Query["site"]);
        Assert.False(connect.Query.ContainsKey("access_token"));
        Assert.Equal([Json], connect.Subprotocols);
        Assert.Single(_accepted.OfType<ConnectedEventRequest>());

        var users = _accepted.OfType<UserEventRequest>().ToList();
        Assert.Equal(2, users.Count);
        Assert.Equal(("heartbeat-ping", WebPubSubContentType.Text, "one"), (users[0].Context.EventName, users[0].DataType, users[0].Data.ToString()));
        Assert.Equal((WebPubSubContentType.Json, "{\"n\":2}"), (users[1].DataType, users[1].Data.ToString()));
        Assert.True(users[0].Context.IsUserEvent);
        Assert.Equal(Json, users[0].Context.Subprotocol);
        // State set at connect (count=1) came back with the first event, and the reply's state with the second.
        Assert.Equal(1, (int)first["data"]!["seen"]!);
        Assert.Equal(2, (int)second["data"]!["seen"]!);
        Assert.Equal("one", (string?)first["data"]!["echo"]);

        var disconnected = Assert.Single(_accepted.OfType<DisconnectedEventRequest>());
        Assert.Equal(connectionId, disconnected.Context.ConnectionId);
        Assert.Contains("closed", disconnected.Reason);
        Assert.Empty(_refused);
    }

    [Fact]
    public async Task TheHandshakeAnswersOnlyAKnownOrigin()
    {
        var url = new Uri(_upstream.BaseUri, "/upstream/railcloud/validate");
        using var known = new HttpRequestMessage(HttpMethod.Options, url);
        known.Headers.Add("WebHook-Request-Origin", _emulator.BaseUri.Authority);
        using var unknown = new HttpRequestMessage(HttpMethod.Options, url);
        unknown.Headers.Add("WebHook-Request-Origin", "evil.example");

        using var ok = await _http.SendAsync(known);
        using var refused = await _http.SendAsync(unknown);

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(_emulator.BaseUri.Authority, ok.Headers.GetValues("WebHook-Allowed-Origin").Single());
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.False(refused.Headers.Contains("WebHook-Allowed-Origin"));
    }

    public static TheoryData<string, string?, HttpStatusCode> Tampered() => new()
    {
        { "ce-signature", "sha256=" + new string('0', 64), HttpStatusCode.Unauthorized },
        { "ce-signature", null, HttpStatusCode.Unauthorized },
        { "ce-signature", "sha1=abc,garbage", HttpStatusCode.Unauthorized },
        { "ce-connectionId", "another-connection", HttpStatusCode.Unauthorized },
        { "ce-hub", "otherhub", HttpStatusCode.NotFound },
        { "ce-type", null, HttpStatusCode.BadRequest },
        { "ce-specversion", null, HttpStatusCode.BadRequest },
        { "ce-connectionState", "%%%", HttpStatusCode.BadRequest },
    };

    [Theory]
    [MemberData(nameof(Tampered))]
    public async Task ATamperedCopyOfARealEventIsRefused(string header, string? value, HttpStatusCode expected)
    {
        var token = WebPubSubTokens.CreateClientToken(_emulator.BaseUri, _emulator.AccessKey, "railcloud", "KIOSK_02", null, null, TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow);
        await using (var socket = await TestWebSocket.ConnectAsync(new Uri($"ws://{_emulator.BaseUri.Authority}/client/hubs/railcloud?access_token={token}"), Json))
        {
            await socket.SendJsonAsync(new { type = "event", @event = "offer", dataType = "json", data = new { sdp = "v=0" }, ackId = 1 });
            await socket.ReceiveJsonAsync(m => (string?)m["type"] == "ack");
        }
        await WaitUntil(() => _accepted.OfType<DisconnectedEventRequest>().Any());
        var real = _upstream.Requests.First(r => r.Header("ce-type") == "azure.webpubsub.user.offer");
        var acceptedBefore = _accepted.Count;

        using var response = await ReplayAsync(real, header, value);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal(acceptedBefore, _accepted.Count);
    }

    [Fact]
    public async Task AnUntamperedReplayOfTheSameRequestIsAccepted()
    {
        // The control for the theory above: the copying itself is faithful.
        var token = WebPubSubTokens.CreateClientToken(_emulator.BaseUri, _emulator.AccessKey, "railcloud", "KIOSK_03", null, null, TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow);
        await using (var socket = await TestWebSocket.ConnectAsync(new Uri($"ws://{_emulator.BaseUri.Authority}/client/hubs/railcloud?access_token={token}"), Json))
        {
            await socket.SendJsonAsync(new { type = "event", @event = "answer", dataType = "json", data = new { sdp = "v=0" }, ackId = 1 });
            await socket.ReceiveJsonAsync(m => (string?)m["type"] == "ack");
        }
        var real = _upstream.Requests.First(r => r.Header("ce-type") == "azure.webpubsub.user.answer");
        using var response = await ReplayAsync(real, replaceHeader: null, value: null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public void SignaturesFromEitherKeyMatchAndNothingElseDoes()
    {
        var reader = new WebPubSubEventReader("h", [WebPubSubConnectionString.Parse("Endpoint=https://x;AccessKey=primary-key-primary-key-primary-key!"), WebPubSubConnectionString.Parse("Endpoint=https://x;AccessKey=secondary-key-secondary-key-secondary")]);
        Assert.True(reader.SignatureMatches("conn", WebPubSubEventReader.Sign("conn", ["primary-key-primary-key-primary-key!"])));
        Assert.True(reader.SignatureMatches("conn", WebPubSubEventReader.Sign("conn", ["old", "secondary-key-secondary-key-secondary"])));
        Assert.True(reader.SignatureMatches("conn", WebPubSubEventReader.Sign("conn", ["primary-key-primary-key-primary-key!"]).ToUpperInvariant().Replace("SHA256=", "sha256=")));
        Assert.False(reader.SignatureMatches("conn", WebPubSubEventReader.Sign("other", ["primary-key-primary-key-primary-key!"])));
        Assert.False(reader.SignatureMatches("conn", ""));
        Assert.False(reader.SignatureMatches("conn", "sha256=zz" + new string('0', 62)));
    }

    /// <summary>Posts a copy of a recorded request with its CloudEvents headers, one of them replaced (or dropped when <paramref name="value"/> is null).</summary>
    private Task<HttpResponseMessage> ReplayAsync(UpstreamHost.RecordedRequest real, string? replaceHeader, string? value)
    {
        var replay = new HttpRequestMessage(HttpMethod.Post, new Uri(_upstream.BaseUri, real.Path)) { Content = new ByteArrayContent(real.Body) };
        replay.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(real.ContentType!);
        foreach (var (name, headerValue) in real.Headers.Where(h => h.Key.StartsWith("ce-", StringComparison.OrdinalIgnoreCase) || h.Key.StartsWith("WebHook", StringComparison.OrdinalIgnoreCase)))
        {
            if (!name.Equals(replaceHeader, StringComparison.OrdinalIgnoreCase))
            {
                replay.Headers.TryAddWithoutValidation(name, headerValue);
            }
        }
        if (replaceHeader is not null && value is not null)
        {
            replay.Headers.TryAddWithoutValidation(replaceHeader, value);
        }
        return _http.SendAsync(replay);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met");
            await Task.Delay(20);
        }
    }
}
