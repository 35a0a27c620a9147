namespace RailCloud.Media;

/// <summary>GStreamer could not do what was asked: missing plugins, a pipeline it refused, an SDP it could not use.</summary>
public sealed class MediaException(string message) : Exception(message);
