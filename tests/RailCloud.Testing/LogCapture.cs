using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace RailCloud.Testing;

/// <summary>
/// Keeps every log entry at Error or above (an unhandled exception in a request or a socket loop logs there), so a
/// test can say "nothing in any log went wrong" about the hosts it started.
/// </summary>
public sealed class LogCapture(LogLevel minimum = LogLevel.Error) : ILoggerProvider
{
    /// <summary>Every entry at the minimum level or above (Error unless asked otherwise).</summary>
    public ConcurrentQueue<string> Errors { get; } = new();

    private readonly LogLevel _minimum = minimum;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= capture._minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                capture.Errors.Enqueue($"{logLevel} {category}: {formatter(state, exception)}{(exception is null ? "" : "\n" + exception)}");
            }
        }
    }
}
