using System.Net.Http.Headers;
using RailCloud.Testing;
using RailCloud.WebPubSub;

namespace RailCloud.WebPubSubEmulator.Tests;

/// <summary>Small helpers to talk to an emulator the way a client and a server would.</summary>
internal static class Wire
{
    public const string Json = "json.webpubsub.azure.v1";
    public const string Reliable = "json.reliable.webpubsub.azure.v1";

    public static Uri ClientUri(EmulatorServer emulator, string hub, string? userId, string[]? roles = null, string[]? groups = null, string? accessKey = null, TimeSpan? lifetime = null, DateTimeOffset? now = null)
    {
        var token = WebPubSubTokens.CreateClientToken(emulator.BaseUri, accessKey ?? emulator.AccessKey, hub, userId, roles, groups,
            lifetime ?? TimeSpan.FromMinutes(10), now ?? DateTimeOffset.UtcNow);
        return new Uri($"ws://{emulator.BaseUri.Authority}/client/hubs/{hub}?access_token={Uri.EscapeDataString(token)}");
    }

    public static async Task<(TestWebSocket Socket, string ConnectionId)> ConnectAsync(EmulatorServer emulator, string hub, string? userId, string protocol = Json, string[]? roles = null, string[]? groups = null)
    {
        var socket = await TestWebSocket.ConnectAsync(ClientUri(emulator, hub, userId, roles, groups), protocol);
        var connected = await socket.ReceiveJsonAsync(m => (string?)m["event"] == "connected");
        return (socket, (string)connected["connectionId"]!);
    }

    /// <summary>A REST request signed like the SDKs sign them.</summary>
    public static HttpRequestMessage Rest(EmulatorServer emulator, HttpMethod method, string pathAndQuery, HttpContent? content = null, string? accessKey = null)
    {
        var uri = new Uri(emulator.BaseUri, pathAndQuery);
        var request = new HttpRequestMessage(method, uri) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", WebPubSubTokens.CreateRestToken(uri, accessKey ?? emulator.AccessKey, DateTimeOffset.UtcNow));
        return request;
    }

    public static StringContent JsonBody(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    public static WebPubSubServiceClient Service(EmulatorServer emulator, string hub) =>
        WebPubSubServiceClient.Create(new WebPubSubOptions { ConnectionString = emulator.ConnectionString, Hub = hub });
}
