namespace RailCloud.Media;

/// <summary>A STUN or TURN server as the browser's RTCIceServer has it.</summary>
public sealed record IceServer(IReadOnlyList<string> Urls, string? Username = null, string? Credential = null);

/// <summary>How a peer reaches the other: ICE servers, relay only, and (for tests on one machine) which local addresses to offer.</summary>
public sealed record PeerOptions
{
    public IReadOnlyList<IceServer> IceServers { get; init; } = [];

    /// <summary>Only relayed candidates (through TURN), as the browser's iceTransportPolicy "relay".</summary>
    public bool RelayOnly { get; init; }

    /// <summary>The local addresses ICE may use (127.0.0.1 for a test on one machine); empty: every address of the machine.</summary>
    public IReadOnlyList<string> LocalAddresses { get; init; } = [];
}

/// <summary>What the sending peer films.</summary>
public abstract record VideoSource(int Width, int Height, int FramesPerSecond)
{
    /// <summary>GStreamer's moving test picture: no camera needed.</summary>
    public sealed record TestPattern(int Width = 640, int Height = 360, int FramesPerSecond = 15) : VideoSource(Width, Height, FramesPerSecond)
    {
        internal override string Pipeline => $"videotestsrc is-live=true pattern=ball ! {Caps}";
    }

    /// <summary>A V4L2 camera, scaled and paced to the size and rate asked for.</summary>
    public sealed record Camera(string Device, int Width = 640, int Height = 360, int FramesPerSecond = 15) : VideoSource(Width, Height, FramesPerSecond)
    {
        internal override string Pipeline => $"v4l2src device=\"{Device.Replace("\"", "", StringComparison.Ordinal)}\" ! videoconvert ! videoscale ! videorate ! {Caps}";
    }

    internal abstract string Pipeline { get; }

    internal string Caps => $"video/x-raw,width={Width},height={Height},framerate={FramesPerSecond}/1";
}

/// <summary>A local ICE candidate to send to the other peer; an empty <see cref="Candidate"/> means no more will come.</summary>
public readonly record struct IceCandidate(int MLineIndex, string Candidate);

/// <summary>What a receiving peer has seen so far; <see cref="FirstFrameAt"/> is a <see cref="Stopwatch"/> timestamp.</summary>
public sealed record ReceiverStats(long FramesDecoded, TimeSpan? FirstFrameAfter, long? FirstFrameAt, int Width, int Height);

/// <summary>From webrtcbin's statistics: the path the media takes and how much of it was lost.</summary>
public sealed record TransportStats(string? LocalCandidateType, string? RemoteCandidateType, long PacketsReceived, long? PacketsLost);
