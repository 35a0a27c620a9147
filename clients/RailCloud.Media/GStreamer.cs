using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RailCloud.Media.Native;

namespace RailCloud.Media;

/// <summary>GStreamer itself: initialised once, and checked for every element the peers use.</summary>
public static class GStreamer
{
    /// <summary>The Debian packages that hold what the peers need.</summary>
    public const string Packages = "gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-nice";

    private static readonly string[] Elements =
        ["webrtcbin", "nicesrc", "videotestsrc", "v4l2src", "videoconvert", "videoscale", "videorate", "vp8enc", "vp8dec", "rtpvp8pay", "rtpvp8depay", "jpegenc", "multifilesink", "fakesink", "tee", "queue"];

    private static readonly Lazy<string> Initialised = new(Initialise);

    /// <summary>GStreamer's version, once it is initialised and every element is there; else a <see cref="MediaException"/> saying what to install.</summary>
    public static string Version => Initialised.Value;

    public static void EnsureAvailable() => _ = Initialised.Value;

    private static readonly Lazy<Task<Readiness>> WarmedUp = new(() => Task.Run(WarmUp));

    /// <summary>
    /// Does, once per process and off the caller's thread, the slow first-time work of the first peer: loading every
    /// plugin a peer uses, and making the process's DTLS certificate (GStreamer before 1.28 generates an RSA-2048 key
    /// the first time a peer needs one, which takes 100–400 ms on a small CPU). Start it early (while signing in) and
    /// the first session does not wait for it. Later calls return the same task.
    /// </summary>
    public static Task<Readiness> WarmUpAsync() => WarmedUp.Value;

    /// <summary>
    /// Waits (at most <paramref name="limit"/>) for the warm-up if one was started, whatever came of it: a process must not
    /// exit while GStreamer is loading plugins or making its key on another thread, or it crashes in native code.
    /// </summary>
    public static async Task SettleAsync(TimeSpan limit)
    {
        if (WarmedUp.IsValueCreated)
        {
            await ((Task)WarmedUp.Value).WaitAsync(limit).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>What <see cref="WarmUpAsync"/> did: how long it took, and the SHA-256 fingerprint of the certificate every peer of this process offers (as SDP writes it: "AB:CD:…").</summary>
    public sealed record Readiness(TimeSpan Took, string CertificateFingerprint);

    private static Readiness WarmUp()
    {
        EnsureAvailable();
        var watch = Stopwatch.StartNew();
        foreach (var name in Elements)
        {
            Gst.ObjectUnref(Make(name));
        }
        // A DTLS decoder without a certificate of its own takes the process's generated one, making it the first time.
        var dtls = Make("dtlsdec");
        try
        {
            var pem = GObject.GetStringProperty(dtls, "pem") ?? throw new MediaException("GStreamer's DTLS decoder has no certificate.");
            using var certificate = X509Certificate2.CreateFromPem(pem);   // the first CERTIFICATE block; the key is skipped
            var hash = Convert.ToHexString(certificate.GetCertHash(HashAlgorithmName.SHA256));
            return new Readiness(watch.Elapsed, string.Join(':', hash.Chunk(2).Select(pair => new string(pair))));
        }
        finally
        {
            Gst.ObjectUnref(dtls);
        }

        static IntPtr Make(string name)
        {
            var element = Gst.ElementFactoryMake(name, null);
            if (element == IntPtr.Zero)
            {
                throw new MediaException($"GStreamer could not make a {name}: install the Debian packages {Packages}.");
            }
            return Gst.ObjectRefSink(element);
        }
    }

    private static string Initialise()
    {
        try
        {
            if (Gst.InitCheck(IntPtr.Zero, IntPtr.Zero, out var error) == 0)
            {
                throw new MediaException("GStreamer could not start: " + GLib.TakeError(error));
            }
            var missing = Elements.Where(name =>
            {
                var factory = Gst.ElementFactoryFind(name);
                if (factory == IntPtr.Zero)
                {
                    return true;
                }
                Gst.ObjectUnref(factory);
                return false;
            }).ToList();
            if (missing.Count > 0)
            {
                throw new MediaException($"GStreamer lacks {string.Join(", ", missing)}: install the Debian packages {Packages} (sudo apt-get install {Packages}).");
            }
            Gst.Version(out var major, out var minor, out var micro, out _);
            return $"{major}.{minor}.{micro}";
        }
        catch (DllNotFoundException)
        {
            throw new MediaException($"GStreamer is not installed: sudo apt-get install {Packages}.");
        }
    }
}
