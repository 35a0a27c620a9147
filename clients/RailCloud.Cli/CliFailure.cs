using System.Net.Sockets;
using System.Net.WebSockets;
using RailCloud.Client;

namespace RailCloud.Cli;

/// <summary>The exit codes of every <c>railcloud</c> command (the README lists them).</summary>
public static class ExitCodes
{
    public const int Success = 0;
    /// <summary>RailCloud refused: a sign-in or a request (and <c>load</c>: a message lost or duplicated, a double session).</summary>
    public const int Refused = 1;
    public const int Usage = 2;
    /// <summary><c>probe</c>: the kiosk is offline or unknown.</summary>
    public const int Offline = 3;
    /// <summary><c>probe</c>: someone else watches the kiosk.</summary>
    public const int Busy = 4;
    /// <summary><c>probe</c>: no video within the timeout.</summary>
    public const int NoMedia = 5;
    /// <summary>The API, Table Storage or Web PubSub could not be reached, or did not answer in time.</summary>
    public const int Unreachable = 6;
    /// <summary>A fault of the command itself (a bug): one line says so; RAILCLOUD_DEBUG=1 prints the details.</summary>
    public const int Bug = 70;
}

/// <summary>A failure the command understands: one line of what went wrong and what to do, and its exit code.</summary>
public sealed class CliFailure(int exitCode, string message, Exception? inner = null) : Exception(message, inner)
{
    public int ExitCode { get; } = exitCode;

    /// <summary>A network failure (refused, reset, timed out) on the way to <paramref name="what"/>, as one line with the way out.</summary>
    public static CliFailure Unreachable(string what, Exception cause, string remedy) =>
        new(ExitCodes.Unreachable, $"cannot reach {what} ({FirstLine(cause)}); {remedy}", cause);

    /// <summary>Whether <paramref name="ex"/> is the network failing rather than the program.</summary>
    public static bool IsNetwork(Exception ex) => ex is HttpRequestException or WebSocketException or SocketException or TimeoutException or IOException
        || (ex is TaskCanceledException { InnerException: TimeoutException })
        || (ex is Azure.RequestFailedException { Status: 0 })
        || (ex is AggregateException aggregate && aggregate.InnerExceptions.All(IsNetwork));

    public static string FirstLine(Exception ex)
    {
        var inner = ex;
        while (inner is AggregateException { InnerExceptions.Count: > 0 } aggregate)
        {
            inner = aggregate.InnerExceptions[^1];   // the SDK's "retry failed after 4 tries": the last try says why
        }
        var text = inner.Message.Split('\n')[0].Trim();
        return text.Length > 200 ? text[..200] + "…" : text;
    }

    /// <summary>What a refusal means for whoever runs the command, in one line.</summary>
    public static string Describe(RailCloudException ex) => ex.Code == Protocol.ErrorCodes.RateLimited
        ? $"refused: rate-limited: {ex.ServerMessage}{(ex.RetryAfter is { } after ? $" (try again in {after.TotalSeconds:0} s)" : "")}"
        : $"refused: {ex.Code}: {ex.ServerMessage}";
}
