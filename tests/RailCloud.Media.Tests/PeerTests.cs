using System.Collections.Concurrent;
using RailCloud.Testing;

namespace RailCloud.Media.Tests;

/// <summary>Two GStreamer peers in one process, over loopback: real VP8 video from a test pattern, decoded and counted.</summary>
public sealed class PeerTests
{
    private static readonly PeerOptions Loopback = new() { LocalAddresses = ["127.0.0.1"] };

    /// <summary>A receiver offers, a sender answers with a test pattern; candidates cross directly. Returns both and waits for frames.</summary>
    private static async Task<(WebRtcPeer Receiver, WebRtcPeer Sender, string Offer, string Answer)> ConnectAsync(int payloadType = 96, VideoSource? source = null, bool snapshots = false, PeerOptions? senderOptions = null)
    {
        var toSender = new BlockingCollection<IceCandidate>();
        var toReceiver = new BlockingCollection<IceCandidate>();
        var (receiver, offer) = await WebRtcPeer.OfferToReceiveAsync(Loopback, toSender.Add, snapshots, payloadType);
        var (sender, answer) = await WebRtcPeer.AnswerAsync(offer, source ?? new VideoSource.TestPattern(640, 360, 15), senderOptions ?? Loopback, toReceiver.Add);
        await receiver.AcceptAnswerAsync(answer);
        _ = Task.Run(() =>
        {
            foreach (var candidate in toSender.GetConsumingEnumerable())
            {
                sender.AddRemoteCandidate(candidate.MLineIndex, candidate.Candidate);
            }
        });
        _ = Task.Run(() =>
        {
            foreach (var candidate in toReceiver.GetConsumingEnumerable())
            {
                receiver.AddRemoteCandidate(candidate.MLineIndex, candidate.Candidate);
            }
        });
        return (receiver, sender, offer, answer);
    }

    private static async Task WaitForFramesAsync(WebRtcPeer receiver, long frames)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (receiver.Received.FramesDecoded < frames)
        {
            Assert.True(DateTime.UtcNow < deadline, $"only {receiver.Received.FramesDecoded} frames arrived (ICE {receiver.IceConnectionState}, error {receiver.Error})");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task ATestPatternSenderStreamsVp8ThatTheReceiverDecodes()
    {
        var (receiver, sender, _, answer) = await ConnectAsync();
        using (receiver)
        using (sender)
        {
            await WaitForFramesAsync(receiver, 15);
            var received = receiver.Received;
            var stats = await receiver.GetStatsAsync();

            Assert.Contains("a=sendonly", answer);
            Assert.Equal((640, 360), (received.Width, received.Height));
            Assert.NotNull(received.FirstFrameAfter);
            Assert.Equal("host", stats.LocalCandidateType);
            Assert.True(stats.PacketsReceived > 0, $"stats: {stats}");
        }
    }

    [Fact]
    public async Task AnOfferWithVp8AtAnotherPayloadTypeStillGetsVideo()
    {
        // webrtcbin 1.22 answers "inactive" when its payloader's type differs from the offer's: the sender takes the offer's.
        var (receiver, sender, offer, answer) = await ConnectAsync(payloadType: 100);
        using (receiver)
        using (sender)
        {
            await WaitForFramesAsync(receiver, 5);

            Assert.Contains("a=rtpmap:100 VP8/90000", offer);
            Assert.Contains("a=rtpmap:100 VP8/90000", answer);
            Assert.DoesNotContain("a=inactive", answer);
        }
    }

    [Fact]
    public async Task TheReceiverSavesAReadableJpegSnapshot()
    {
        var snapshot = Path.Combine(Path.GetTempPath(), $"railcloud-snapshot-{Guid.NewGuid():N}.jpg");
        var (receiver, sender, _, _) = await ConnectAsync(snapshots: true);
        try
        {
            using (receiver)
            using (sender)
            {
                await WaitForFramesAsync(receiver, 20);
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (!receiver.SaveSnapshot(snapshot) && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(100);
                }
            }
            var bytes = await File.ReadAllBytesAsync(snapshot);

            Assert.True(bytes.Length > 1000, $"{bytes.Length} bytes");
            Assert.Equal([0xFF, 0xD8], bytes[..2]);    // JPEG start of image
            Assert.Equal([0xFF, 0xD9], bytes[^2..]);   // and its end: a whole picture
        }
        finally
        {
            File.Delete(snapshot);
        }
    }

    [Fact]
    public async Task TheWarmUpMakesTheCertificateThatEveryPeerThenOffers()
    {
        var readiness = await GStreamer.WarmUpAsync();
        var (receiver, sender, offer, answer) = await ConnectAsync();
        using (receiver)
        using (sender)
        {
            Assert.Same(GStreamer.WarmUpAsync(), GStreamer.WarmUpAsync());   // once per process
            Assert.Matches("^([0-9A-F]{2}:){31}[0-9A-F]{2}$", readiness.CertificateFingerprint);
            Assert.Contains($"a=fingerprint:sha-256 {readiness.CertificateFingerprint}\r\n", offer);
            Assert.Contains($"a=fingerprint:sha-256 {readiness.CertificateFingerprint}\r\n", answer);
        }
    }

    [Fact]
    public async Task ASenderThatOnlyRelaysReleasesItsTurnAllocationSoSessionsPastCoturnsPerUserQuotaStillGetVideo()
    {
        // coturn allows 12 allocations per TURN user (infra/coturn). A kiosk keeps one TURN username for hours, so a
        // sender that left its allocation behind at the end of a session would get no relay from the 13th session on.
        await using var turn = await CoturnServer.StartAsync();
        var (username, password) = RailCloud.Signaling.Hub.IceServerProvider.Credentials("kiosk-quota", turn.Secret, DateTimeOffset.UtcNow.AddHours(1));
        var relayOnly = Loopback with { RelayOnly = true, IceServers = [new IceServer([$"turn:127.0.0.1:{turn.Port}?transport=udp"], username, password)] };

        for (var session = 1; session <= 13; session++)   // the 13th is the first past the quota
        {
            var (receiver, sender, _, _) = await ConnectAsync(senderOptions: relayOnly);
            using (receiver)
            using (sender)
            {
                var deadline = DateTime.UtcNow.AddSeconds(20);
                while (receiver.Received.FramesDecoded < 1 && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(50);
                }
                Assert.True(receiver.Received.FramesDecoded >= 1, $"session {session}: no video (sender ICE {sender.IceConnectionState}); coturn said: {string.Join(" | ", turn.Log.Where(line => line.Contains("error", StringComparison.OrdinalIgnoreCase)).TakeLast(3))}");
                Assert.Equal("relay", (await receiver.GetStatsAsync()).RemoteCandidateType);
            }
        }
    }

    [Fact]
    public async Task AnOfferWithoutVp8IsRefusedClearly()
    {
        const string offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:102 H264/90000\r\na=mid:0\r\na=recvonly\r\n";

        var error = await Assert.ThrowsAsync<MediaException>(() => WebRtcPeer.AnswerAsync(offer, new VideoSource.TestPattern(), Loopback, _ => { }));

        Assert.Contains("VP8", error.Message);
    }

    [Theory]
    [InlineData("turn:127.0.0.1:3478?transport=udp", "1700000000:kiosk07", "ab/c+d=", "turn://1700000000%3Akiosk07:ab%2Fc%2Bd%3D@127.0.0.1:3478?transport=udp")]
    [InlineData("turns:turn.example:443", "u", "p", "turns://u:p@turn.example:443")]
    [InlineData("turn:turn.example:443?transport=tls", "u", "p", "turns://u:p@turn.example:443")]
    public void TurnUrlsAreEscapedTheWayWebrtcbinParsesThem(string url, string username, string credential, string expected) =>
        Assert.Equal(expected, WebRtcPeer.TurnUri(url, username, credential));
}
