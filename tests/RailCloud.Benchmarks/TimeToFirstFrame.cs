using System.Globalization;
using Microsoft.Playwright;
using RailCloud.Testing;

namespace RailCloud.Benchmarks;

/// <summary>
/// Time to first frame: from the click on "Start monitoring" to the first decoded frame on the monitor, through the
/// whole local stack (emulator, API, Azurite, coturn) in Chromium with a fake camera. Baseline: the same browser,
/// the same camera, two peer connections exchanging offer and answer inside one page, with no backend at all.
/// </summary>
public static class TimeToFirstFrame
{
    public static async Task<int> RunAsync(int rounds)
    {
        await using var turn = await CoturnServer.StartAsync();
        await using var stack = await RailCloudStack.StartAsync(turn.Settings);
        await stack.CreateAccountAsync("KIOSK_01", "kiosk");
        await stack.CreateAccountAsync("MONITOR_01", "monitor");
        await using var browser = await BenchmarkBrowser.LaunchAsync(stack.BaseUri);
        Task<IPage> SignInAsync(string path, string label, string id, string expected) => browser.SignInAsync(path, label, id, expected);

        var kiosk = await SignInAsync("/kiosk", "Kiosk id", "KIOSK_01", "Online");
        var monitor = await SignInAsync("/monitor", "Monitor id", "MONITOR_01", "Connected");

        var withBackend = new List<double>();
        for (var round = 0; round < rounds + 1; round++)
        {
            await monitor.GetByRole(AriaRole.Button, new() { Name = "Start monitoring KIOSK_01" }).ClickAsync();
            await monitor.WaitForFunctionAsync("() => window.railcloudFirstFrameAt && window.railcloudFirstFrameAt.KIOSK_01", null, new() { Timeout = 30_000, PollingInterval = 20 });
            var ms = await monitor.EvaluateAsync<double>("() => window.railcloudFirstFrameAt.KIOSK_01 - window.railcloudClickedAt.KIOSK_01");
            if (round > 0) withBackend.Add(ms); // the first round warms up JIT and connection pools
            await monitor.GetByRole(AriaRole.Button, new() { Name = "Stop monitoring KIOSK_01" }).ClickAsync();
            await Assertions.Expect(kiosk.Locator("#viewer")).ToHaveTextAsync("Not being viewed");
        }

        var baseline = new List<double>();
        var page = await browser.BlankPageAsync();
        await page.GotoAsync("/");
        for (var round = 0; round < rounds + 1; round++)
        {
            var ms = await page.EvaluateAsync<double>("""
                async () => {
                  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 } });
                  const t0 = performance.now();
                  const a = new RTCPeerConnection(), b = new RTCPeerConnection();
                  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
                  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
                  b.addTransceiver("video", { direction: "recvonly" });
                  const video = document.createElement("video");
                  video.muted = true; video.playsInline = true; video.autoplay = true;
                  document.body.append(video);
                  const first = new Promise((resolve) => video.addEventListener("loadeddata", () => resolve(performance.now()), { once: true }));
                  b.ontrack = (e) => { video.srcObject = e.streams[0] ?? new MediaStream([e.track]); video.play().catch(() => {}); };
                  const offer = await b.createOffer(); await b.setLocalDescription(offer); await a.setRemoteDescription(offer);
                  stream.getTracks().forEach((t) => a.addTrack(t, stream));
                  a.getTransceivers()[0].direction = "sendonly";
                  a.getTransceivers()[0].sender.replaceTrack(stream.getVideoTracks()[0]);
                  const answer = await a.createAnswer(); await a.setLocalDescription(answer); await b.setRemoteDescription(answer);
                  const t1 = await first;
                  stream.getTracks().forEach((t) => t.stop()); a.close(); b.close(); video.remove();
                  return t1 - t0;
                }
                """);
            if (round > 0) baseline.Add(ms);
        }

        static double Median(List<double> values)
        {
            var sorted = values.Order().ToList();
            return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
        }
        var product = Median(withBackend);
        var local = Median(baseline);
        Console.WriteLine($"""

            ## Time to first frame (Chromium, fake camera, loopback, {rounds} rounds each, {DateTime.UtcNow:yyyy-MM-dd})

            | path | median | min | max |
            |---|---|---|---|
            | RailCloud: click on Start monitoring → first decoded frame (API, Web PubSub emulator, Azurite) | {product:F0} ms | {withBackend.Min():F0} ms | {withBackend.Max():F0} ms |
            | baseline: offer/answer inside one page, no backend | {local:F0} ms | {baseline.Min():F0} ms | {baseline.Max():F0} ms |
            | ratio | {(product / local).ToString("F1", CultureInfo.InvariantCulture)}× | | |
            """);
        return 0;
    }
}
