using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using RailCloud.Protocol;

namespace RailCloud.Client;

/// <summary>
/// One signed-in RailCloud client on Web PubSub's reliable JSON subprotocol: events go out with ack ids (and are
/// sent again after a recovery), server messages come in once each, in order, acknowledged by sequence id.
/// A dropped socket is recovered with the connection's reconnection token; the connection id stays the same.
/// </summary>
public sealed partial class RailCloudConnection : IAsyncDisposable
{
    public const string Subprotocol = "json.reliable.webpubsub.azure.v1";

    private readonly Uri _url;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly ConcurrentDictionary<ulong, Pending> _pending = new();
    private readonly Channel<JsonObject> _messages = Channel.CreateUnbounded<JsonObject>();
    private readonly List<(Func<JsonObject, bool> Match, TaskCompletionSource<JsonObject> Done)> _waiters = [];
    // Messages no waiter took yet, so a wait that starts late still sees them (guarded by _waiters).
    private readonly LinkedList<JsonObject> _backlog = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ClientWebSocket _socket = new();
    private Task _receiver = Task.CompletedTask;
    private Task _acker = Task.CompletedTask;
    private ulong _nextAckId;
    private ulong _lastSequence;
    private ulong _ackedSequence;
    private string? _reconnectionToken;
    private volatile bool _closing;

    private RailCloudConnection(Uri url, string id, string role, string accessToken, IReadOnlyList<IceServer> iceServers)
    {
        _url = url;
        Id = id;
        Role = role;
        AccessToken = accessToken;
        IceServers = iceServers;
    }

    public string Id { get; }
    public string Role { get; }
    public string AccessToken { get; }
    public IReadOnlyList<IceServer> IceServers { get; }
    public string? ConnectionId { get; private set; }

    /// <summary>How many times a dropped socket was recovered.</summary>
    public int Recoveries { get; private set; }

    /// <summary>Set once the connection is over for good (closed by the server, or recovery failed), with the reason.</summary>
    public string? ClosedReason { get; private set; }

    /// <summary>Raised for every server message's data as it arrives (once each, whoever takes it), on the receive loop.</summary>
    public event Action<JsonObject>? Received;

    /// <summary>Every server message's data (each has an "event") that no <see cref="WaitForAsync"/> took, in order.</summary>
    public ChannelReader<JsonObject> Messages => _messages.Reader;

    /// <summary>Logs in, negotiates, connects. The API's base address is the local host or the Function app.</summary>
    public static async Task<RailCloudConnection> ConnectAsync(RailCloudApi api, string id, string password, CancellationToken cancellationToken = default)
    {
        var login = await api.LoginAsync(id, password, cancellationToken).ConfigureAwait(false);
        return await ConnectAsync(api, login, cancellationToken).ConfigureAwait(false);
    }

    public static async Task<RailCloudConnection> ConnectAsync(RailCloudApi api, LoginResponse login, CancellationToken cancellationToken = default)
    {
        var negotiate = await api.NegotiateAsync(login.AccessToken, cancellationToken).ConfigureAwait(false);
        var connection = new RailCloudConnection(new Uri(negotiate.Url), login.Id, login.Role, login.AccessToken, negotiate.IceServers);
        await connection.OpenAsync(connection._url, cancellationToken).ConfigureAwait(false);
        await connection._connected.Task.WaitAsync(TimeSpan.FromSeconds(15), cancellationToken).ConfigureAwait(false);
        connection._acker = connection.AckLoopAsync();
        return connection;
    }

    // ---- Typed requests ----

    /// <summary>
    /// Registers as a kiosk or monitor (by the account's role). After a new connection, <paramref name="resume"/>
    /// names the sessions this peer still holds; the reply's <c>resumed</c> and <c>ended</c> say which continue.
    /// </summary>
    public async Task<JsonObject> RegisterAsync(IReadOnlyCollection<string>? resume = null, CancellationToken cancellationToken = default) =>
        await RequestAsync(Roles.CanMonitor(Role) ? Events.RegisterMonitor : Events.RegisterKiosk, new RegisterRequest(resume?.ToList()), m => Is(m, Events.Registered), cancellationToken).ConfigureAwait(false);

    public Task<JsonObject> StartMonitoringAsync(string kioskId, CancellationToken cancellationToken = default) =>
        RequestAsync(Events.StartMonitoring, new StartMonitoringRequest(kioskId), m => Is(m, Events.MonitoringStarted) && (string?)m["kioskId"] == kioskId, cancellationToken);

    /// <summary>Starts watching <paramref name="kioskId"/> with the offer in the start: the kiosk gets it right after monitoring-started.</summary>
    public Task<JsonObject> StartMonitoringAsync(string kioskId, string offerSdp, CancellationToken cancellationToken = default) =>
        RequestAsync(Events.StartMonitoring, new StartMonitoringRequest(kioskId, new SessionDescription("offer", offerSdp)),
            m => Is(m, Events.MonitoringStarted) && (string?)m["kioskId"] == kioskId, cancellationToken);

    public Task<JsonObject> StopMonitoringAsync(string kioskId, CancellationToken cancellationToken = default) =>
        RequestAsync(Events.StopMonitoring, new StopMonitoringRequest(kioskId), m => Is(m, Events.MonitoringStopped) && (string?)m["kioskId"] == kioskId, cancellationToken);

    public Task<JsonObject> HeartbeatAsync(CancellationToken cancellationToken = default) =>
        RequestAsync(Events.HeartbeatPing, new { }, m => Is(m, Events.HeartbeatPong), cancellationToken);

    public Task SendOfferAsync(string targetId, string sdp, CancellationToken cancellationToken = default) =>
        SendAsync(Events.Offer, new OfferRequest(targetId, new SessionDescription("offer", sdp)), cancellationToken);

    public Task SendAnswerAsync(string targetId, string sdp, CancellationToken cancellationToken = default) =>
        SendAsync(Events.Answer, new AnswerRequest(targetId, new SessionDescription("answer", sdp)), cancellationToken);

    public Task SendIceCandidateAsync(string targetId, string candidate, string? sdpMid = "0", int? sdpMLineIndex = 0, CancellationToken cancellationToken = default) =>
        SendAsync(Events.IceCandidate, new IceCandidateRequest(targetId, new IceCandidateInit(candidate, sdpMid, sdpMLineIndex)), cancellationToken);

    public Task CrewSignOnAsync(string crewId, string? name = null, CancellationToken cancellationToken = default) =>
        SendAsync(Events.CrewSignOn, new CrewSignOnRequest(crewId, name), cancellationToken);

    public Task CrewSignOffAsync(string crewId, CancellationToken cancellationToken = default) =>
        SendAsync(Events.CrewSignOff, new CrewSignOffRequest(crewId), cancellationToken);

    /// <summary>Sends an event and waits for its reply; an <c>error</c> reply becomes a <see cref="RailCloudException"/>.</summary>
    public async Task<JsonObject> RequestAsync(string eventName, object data, Func<JsonObject, bool> isReply, CancellationToken cancellationToken = default)
    {
        using var giveUp = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reply = WaitForAsync(m => isReply(m) || IsErrorFor(m, eventName), TimeSpan.FromSeconds(30), giveUp.Token);
        try
        {
            await SendAsync(eventName, data, cancellationToken, checkErrors: false).ConfigureAwait(false);
        }
        catch
        {
            // Not delivered: stop waiting, so this request's waiter cannot take the reply of a later one.
            await giveUp.CancelAsync().ConfigureAwait(false);
            await ((Task)reply).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            throw;
        }
        var message = await reply.ConfigureAwait(false);
        ThrowIfError(message);
        return message;
    }

    /// <summary>
    /// Sends an event and waits for the service's ack. The backend answers a refusal with an error reply before the
    /// ack, so an error for this event seen by then is thrown.
    /// </summary>
    public async Task SendAsync(string eventName, object data, CancellationToken cancellationToken = default, bool checkErrors = true)
    {
        TaskCompletionSource<JsonObject>? error = null;
        if (checkErrors)
        {
            error = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_waiters) _waiters.Add((m => IsErrorFor(m, eventName), error));
        }
        try
        {
            var ackId = Interlocked.Increment(ref _nextAckId);
            var frame = JsonSerializer.SerializeToUtf8Bytes(new { type = "event", @event = eventName, dataType = "json", data, ackId }, ProtocolJson.Options);
            var pending = new Pending(frame);
            _pending[ackId] = pending;
            if (ClosedReason is { } closed)
            {
                // Over for good: nothing will ever acknowledge it (and Close may have run before it was added).
                _pending.TryRemove(ackId, out _);
                throw new RailCloudException(ErrorCodes.Unavailable, $"The connection closed: {closed}", eventName);
            }
            await SendFrameAsync(frame, cancellationToken).ConfigureAwait(false);
            var ack = await pending.Done.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
            if (ack["success"]?.GetValue<bool>() != true && (string?)ack["error"]?["name"] != "Duplicate")
            {
                throw new RailCloudException(ErrorCodes.Unavailable, $"The service did not accept {eventName}: {(string?)ack["error"]?["name"]} {(string?)ack["error"]?["message"]}", eventName);
            }
            if (error is { Task.IsCompleted: true })
            {
                ThrowIfError(error.Task.Result);
            }
        }
        finally
        {
            if (error is not null)
            {
                lock (_waiters) _waiters.RemoveAll(w => w.Done == error);
            }
        }
    }

    /// <summary>The next server message matching <paramref name="match"/> (also one that already arrived and was not yet read).</summary>
    public Task<JsonObject> WaitForAsync(Func<JsonObject, bool> match, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waiters)
        {
            for (var node = _backlog.First; node is not null; node = node.Next)
            {
                if (match(node.Value))
                {
                    _backlog.Remove(node);
                    return Task.FromResult(node.Value);
                }
            }
            _waiters.Add((match, done));
        }
        return AwaitAsync();

        async Task<JsonObject> AwaitAsync()
        {
            try
            {
                return await done.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"No matching message from RailCloud within {timeout} ({Id}).");
            }
            finally
            {
                lock (_waiters) _waiters.RemoveAll(w => w.Done == done);
            }
        }
    }

    /// <summary>Drops the socket without a close frame, as a network failure would (for tests and demos); recovery follows.</summary>
    public void SimulateNetworkDrop() => _socket.Abort();

    public async ValueTask DisposeAsync()
    {
        // Close cleanly first (a cancelled receive would abort the socket, which the service takes for a network
        // drop and keeps recoverable), then stop the loops.
        _closing = true;
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token).ConfigureAwait(false);
                await _receiver.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // Closing anyway.
        }
        _stop.Cancel();
        _socket.Abort();
        await Task.WhenAll(_receiver, _acker).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _socket.Dispose();
        _messages.Writer.TryComplete();
    }
}
