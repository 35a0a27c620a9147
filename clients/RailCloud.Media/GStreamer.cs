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
