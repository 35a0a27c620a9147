namespace RailCloud.Testing.Wan;

/// <summary>
/// The whole local stack behind a simulated network (<see cref="WanProfile"/>): clients reach the API, Web PubSub
/// and TURN over their client leg; Web PubSub reaches the API, and the API reaches Web PubSub and Table Storage, over
/// the region hop. TURN listens behind a UDP proxy and is the only ICE server clients get, so media forced through
/// it (relay only) pays the client legs too. Everything stays on 127.0.0.1.
/// </summary>
public sealed class WanStack : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _parts;

    private WanStack(WanProfile profile, RailCloudStack stack, CoturnServer turn, Uri clientUri, Uri webPubSubForClients, List<IAsyncDisposable> parts)
    {
        Profile = profile;
        Stack = stack;
        Turn = turn;
        ClientUri = clientUri;
        WebPubSubForClients = webPubSubForClients;
        _parts = parts;
    }

    public WanProfile Profile { get; }
    public RailCloudStack Stack { get; }
    public CoturnServer Turn { get; }

    /// <summary>The API (and the pages) as a client reaches it: over the client leg.</summary>
    public Uri ClientUri { get; }

    /// <summary>Web PubSub as a client reaches it: over the client leg (what negotiate hands out).</summary>
    public Uri WebPubSubForClients { get; }

    public static async Task<WanStack> StartAsync(WanProfile profile, IDictionary<string, string?>? overrides = null)
    {
        var parts = new List<IAsyncDisposable>();
        var turn = await CoturnServer.StartAsync();
        parts.Add(turn);
        var turnProxy = UdpDelayProxy.Start(turn.Port, profile.ClientLeg);
        parts.Add(turnProxy);
        TcpDelayProxy Proxy(int port, Delay delay)
        {
            var proxy = TcpDelayProxy.Start(port, delay);
            parts.Add(proxy);
            return proxy;
        }

        TcpDelayProxy? clientToApi = null;
        TcpDelayProxy? clientsToWebPubSub = null;
        var links = new StackLinks(
            EmulatorToApi: apiPort =>
            {
                clientToApi = Proxy(apiPort, profile.ClientLeg);
                return Proxy(apiPort, profile.RegionHop).Port;
            },
            ApiSettings: (emulator, azurite) =>
            {
                var toWebPubSub = Proxy(emulator.BaseUri.Port, profile.RegionHop);
                clientsToWebPubSub = Proxy(emulator.BaseUri.Port, profile.ClientLeg);
                var toStorage = Proxy(azurite.TableEndpoint.Port, profile.RegionHop);
                return new Dictionary<string, string?>
                {
                    ["Storage:ConnectionString"] = azurite.ConnectionString.Replace(azurite.TableEndpoint.ToString(), toStorage.Through(azurite.TableEndpoint).ToString(), StringComparison.Ordinal),
                    ["WebPubSub:ConnectionString"] = $"Endpoint=http://127.0.0.1:{toWebPubSub.Port};AccessKey={emulator.AccessKey};Version=1.0;",
                    // The emulator names itself (its own port) in the webhook handshake; its own address is the second
                    // connection string so the API knows that origin (in Azure both are the service's one host name).
                    ["WebPubSub:SecondaryConnectionString"] = emulator.ConnectionString,
                    ["WebPubSub:ClientEndpoint"] = $"http://127.0.0.1:{clientsToWebPubSub.Port}",
                    ["Turn:Urls:0"] = $"turn:127.0.0.1:{turnProxy.Port}?transport=udp",
                    ["Turn:Secret"] = turn.Secret,
                    ["Stun:Urls:0"] = $"stun:127.0.0.1:{turnProxy.Port}",
                };
            });
        try
        {
            var stack = await RailCloudStack.StartAsync(overrides, links: links);
            return new WanStack(profile, stack, turn, clientToApi!.Through(stack.BaseUri), new Uri($"http://127.0.0.1:{clientsToWebPubSub!.Port}"), parts);
        }
        catch
        {
            foreach (var part in parts)
            {
                await part.DisposeAsync();
            }
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Stack.DisposeAsync();
        foreach (var part in Enumerable.Reverse(_parts))
        {
            await part.DisposeAsync();
        }
    }
}
